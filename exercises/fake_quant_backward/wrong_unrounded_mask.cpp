// A near miss the check must catch: the clipping mask tested on the unrounded u = x / s + zp instead of
// round(u). The two differ only for u in (qmax, qmax + 0.5] or [qmin - 0.5, qmin): such a value rounds to
// qmax (or qmin), was not cut by the clamp, and keeps its gradient in the library.
#include <cmath>

#include "exercises/fake_quant_backward/fake_quant_backward.h"

namespace exercise {

qg::Tensor fake_quantize_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                  const qg::quant::QParams& qparams, qg::quant::Ste ste) {
  const qg::Tensor xc = x.contiguous();
  qg::Tensor grad = grad_output.contiguous().clone();
  if (ste == qg::quant::Ste::Identity || qparams.spec.binary()) return grad;
  const float qmin = static_cast<float>(qparams.spec.qmin()), qmax = static_cast<float>(qparams.spec.qmax());
  int64_t outer = 1, channels = 1, inner = 1;
  if (qparams.per_channel()) {
    const int64_t axis = qg::normalize_axis(qparams.axis, x.dim(), "fake_quantize_backward");
    for (int64_t d = 0; d < axis; ++d)
      outer *= x.shape()[d];
    channels = x.shape()[axis];
    for (int64_t d = axis + 1; d < x.dim(); ++d)
      inner *= x.shape()[d];
  } else {
    inner = x.numel();
  }
  const float* v = xc.data();
  float* g = grad.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = (o * channels + c) * inner + i;
        const float u = v[k] / qparams.scale[c] + static_cast<float>(qparams.zero_point[c]);
        if (u < qmin || u > qmax) g[k] = 0.0f;  // the bug: u, not std::nearbyint(u)
      }
  return grad;
}

}  // namespace exercise
