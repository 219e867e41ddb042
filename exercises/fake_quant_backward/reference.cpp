// The library's own backward behind the exercise's signature: the gradient that autograd computes through
// qg::quant::fake_quantize. ctest's exercise.fake_quant_backward.reference_passes builds the check with this
// file to prove that the check passes on the library's version.
#include "exercises/fake_quant_backward/fake_quant_backward.h"

namespace exercise {

qg::Tensor fake_quantize_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                  const qg::quant::QParams& qparams, qg::quant::Ste ste) {
  qg::Tensor leaf = x.detach();
  leaf.set_requires_grad(true);
  qg::quant::fake_quantize(leaf, qparams, ste).backward(grad_output);
  return leaf.grad();
}

}  // namespace exercise
