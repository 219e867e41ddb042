// A near miss the check must catch: the straight-through estimator without the clipping mask. Right for
// Ste::Identity and for every value inside the range; Ste::Clipped must zero the gradient where the clamp
// cut.
#include "exercises/fake_quant_backward/fake_quant_backward.h"

namespace exercise {

qg::Tensor fake_quantize_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                  const qg::quant::QParams& qparams, qg::quant::Ste ste) {
  (void)x, (void)qparams, (void)ste;  // the bug: ste == Clipped is treated as Identity
  return grad_output.contiguous().clone();
}

}  // namespace exercise
