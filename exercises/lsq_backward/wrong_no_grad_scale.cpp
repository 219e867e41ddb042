// A near miss the check must catch: the step-size gradient without LSQ's gradient scale g (as if
// grad_scale were 1). Right whenever the caller passes g = 1; LSQ's g = 1 / sqrt(N * Qp) is far smaller.
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
      sum += g.data()[i] * static_cast<double>(in ? qc - v / s : qc);
    }
    (void)grad_scale;
    ds.data()[c] = static_cast<float>(sum);  // the bug: sum * grad_scale
  }
  return {dx, ds};
}

}  // namespace exercise
