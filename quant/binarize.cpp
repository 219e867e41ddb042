#include "quant/binarize.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "autograd/function.h"

namespace qg::quant {

namespace {

// α_c = mean |w[c, :]|, floored at the smallest normal float (binary_qparams).
std::vector<float> channel_alphas(const Tensor& w) {
  const int64_t channels = w.shape()[0];
  const int64_t row = w.numel() / channels;
  std::vector<float> alphas(static_cast<size_t>(channels));
  const float* p = w.data();
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0.0;
    for (int64_t j = 0; j < row; ++j)
      sum += std::fabs(p[c * row + j]);
    alphas[static_cast<size_t>(c)] =
        std::max(static_cast<float>(sum / static_cast<double>(row)), std::numeric_limits<float>::min());
  }
  return alphas;
}

void check_weight(const Tensor& w) {
  if (w.dim() < 1 || w.numel() == 0 || w.shape()[0] == 0) {
    throw std::invalid_argument("binarize_weight: expected a non-empty weight [C, ...], got " +
                                to_string(w.shape()));
  }
}

struct BinarizeWeightFn {
  static constexpr const char* name = "binarize_weight";
  Tensor w;
  std::vector<float> alphas;
  float clip = 1.0f;

  Tensor forward(const Tensor& weight, float clip_value) {
    check_weight(weight);
    w = weight.contiguous();
    clip = clip_value;
    alphas = channel_alphas(w);
    const int64_t row = w.numel() / w.shape()[0];
    Tensor out = Tensor::empty(w.shape());
    for (int64_t i = 0; i < w.numel(); ++i)
      out.data()[i] = alphas[static_cast<size_t>(i / row)] * binary_code(w.data()[i]);
    return out;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous();
    const int64_t channels = w.shape()[0], row = w.numel() / channels;
    Tensor dw = Tensor::empty(w.shape());
    for (int64_t c = 0; c < channels; ++c) {
      const float* gp = g.data() + c * row;
      const float* wp = w.data() + c * row;
      float* dp = dw.data() + c * row;
      double projected = 0.0;  // Σ_k g_k sign(w_k): the gradient reaching α_c
      for (int64_t k = 0; k < row; ++k)
        projected += static_cast<double>(gp[k]) * binary_code(wp[k]);
      const float through_alpha = static_cast<float>(projected / static_cast<double>(row));
      const float alpha = alphas[static_cast<size_t>(c)];
      for (int64_t k = 0; k < row; ++k) {
        const float ste = std::fabs(wp[k]) <= clip ? alpha * gp[k] : 0.0f;
        dp[k] = ste + binary_code(wp[k]) * through_alpha;
      }
    }
    return {dw};
  }
};

}  // namespace

Tensor binarize_weight(const Tensor& w, float clip) {
  return apply<BinarizeWeightFn>(w, clip);
}

QParams binary_qparams(const Tensor& w) {
  check_weight(w);
  QParams p;
  p.spec = QuantSpec{1, true, true};
  p.scale = channel_alphas(w.contiguous());
  p.zero_point.assign(p.scale.size(), 0);
  p.axis = 0;
  return p;
}

}  // namespace qg::quant
