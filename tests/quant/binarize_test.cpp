// XNOR-Net binary weights: forward values, QParams, and the gradient against central differences of the
// surrogate ŵ = α(w) · (clamp(w, −clip, clip) + S0), α(w) = mean |w| per channel and S0 = sign(w0) −
// clamp(w0) held constant (sign's STE is the identity inside the clip), written independently of
// quant/binarize.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/gradcheck.h"
#include "quant/binarize.h"
#include "quant/fake_quantize.h"

namespace qg::quant {
namespace {

TEST(Binarize, ForwardIsTheMeanMagnitudeTimesTheSign) {
  const Tensor w = Tensor::from_vector({0.5f, -0.25f, 0.0f, -1.0f, 2.0f, 4.0f}, {2, 3});
  EXPECT_EQ(binarize_weight(w).to_vector(),
            (std::vector<float>{0.25f, -0.25f, 0.25f, -7.0f / 3, 7.0f / 3, 7.0f / 3}));
  const QParams q = binary_qparams(w);
  EXPECT_TRUE(q.spec.binary());
  EXPECT_EQ(q.scale, (std::vector<float>{0.25f, 7.0f / 3}));
  EXPECT_EQ(q.zero_point, (std::vector<int32_t>{0, 0}));
  // The integer codes convert() stores: the signs, 0 counting as +1.
  EXPECT_EQ(quantize_codes(w, q).to_vector(), (std::vector<float>{1, -1, 1, -1, 1, 1}));
  // FakeQuantize with these parameters reproduces the binarized weight (what the frozen model computes).
  EXPECT_EQ(fake_quantize(w, q).to_vector(), binarize_weight(w).to_vector());
}

TEST(Binarize, AZeroChannelGetsTheSmallestNormalScale) {
  const QParams q = binary_qparams(Tensor::zeros({1, 4}));
  EXPECT_EQ(q.scale[0], std::numeric_limits<float>::min());
}

TEST(Binarize, GradientMatchesTheXnorSurrogate) {
  Generator gen(4);
  Tensor w = Tensor::randn({3, 7}, gen, 0.0f, 0.6f);
  for (int64_t i = 0; i < w.numel(); ++i) {  // away from 0 (|w|'s kink) and from the clip at ±1
    float& v = w.data()[i];
    if (std::fabs(v) < 0.05f) v += v < 0 ? -0.1f : 0.1f;
    if (std::fabs(std::fabs(v) - 1.0f) < 0.05f) v *= 1.1f;
  }
  w.set_requires_grad(true);
  const std::vector<float> w0 = w.to_vector();
  GradcheckOptions options;
  options.eps = 1e-3f;
  options.surrogate = [w0](const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    const int64_t rows = x.shape()[0], n = x.numel() / rows;
    Tensor out = Tensor::zeros(x.shape());
    for (int64_t c = 0; c < rows; ++c) {
      double alpha = 0.0;
      for (int64_t k = 0; k < n; ++k)
        alpha += std::fabs(x.data()[c * n + k]);
      alpha /= static_cast<double>(n);
      for (int64_t k = 0; k < n; ++k) {
        const float v0 = w0[static_cast<size_t>(c * n + k)];
        const double s0 = (v0 >= 0 ? 1.0 : -1.0) - std::clamp(v0, -1.0f, 1.0f);
        out.data()[c * n + k] =
            static_cast<float>(alpha * (std::clamp(x.data()[c * n + k], -1.0f, 1.0f) + s0));
      }
    }
    return out;
  };
  const GradcheckResult r =
      gradcheck([](const std::vector<Tensor>& in) { return binarize_weight(in[0]); }, {w}, options);
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace
}  // namespace qg::quant
