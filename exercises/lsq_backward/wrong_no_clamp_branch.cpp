// A near miss the check must catch: the step-size gradient qc - x / s used for every element, also where the
// clamp cut (there it must be qc: the output s * qc grows with s while x does not move it). dL/dx is right.
#include <algorithm>
#include <cmath>
#include <vector>

#include "exercises/lsq_backward/lsq_backward.h"

namespace exercise {

LsqGrads fake_quantize_learnable_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                          const qg::Tensor& scale, const qg::quant::QuantSpec& spec,
                                          float grad_scale) {
  const qg::Tensor g = grad_output.contiguous(), xc = x.contiguous(), sc = scale.contiguous();
  const int64_t channels = sc.numel(), inner = xc.numel() / channels;
  const float qmin = static_cast<float>(spec.qmin()), qmax = static_cast<float>(spec.qmax());
  qg::Tensor dx = qg::Tensor::zeros(xc.shape()), ds = qg::Tensor::zeros(sc.shape());
  for (int64_t c = 0; c < channels; ++c) {
    const float s = sc.data()[c];
    double sum = 0.0;
    for (int64_t i = c * inner; i < (c + 1) * inner; ++i) {
      const float v = xc.data()[i];
      const float q = std::nearbyint(v / s);
      const float qc = std::clamp(q, qmin, qmax);
      const bool in = q == qc;
      dx.data()[i] = in ? g.data()[i] : 0.0f;
      sum += g.data()[i] * static_cast<double>(qc - v / s);  // the bug: qc where the clamp cut
    }
    ds.data()[c] = static_cast<float>(sum * grad_scale);
  }
  return {dx, ds};
}

}  // namespace exercise
