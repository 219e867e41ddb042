// LSQ / LSQ+ fake quantization: the forward pass against FakeQuantize, and the gradients w.r.t. the input,
// the step size and the zero point against central differences of the STE surrogate
// (quant/fake_quantize_learnable.h), written here independently of the implementation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/gradcheck.h"
#include "quant/fake_quantize.h"
#include "quant/fake_quantize_learnable.h"
#include "quant/output_requantize.h"

namespace qg::quant {
namespace {

// The surrogate of fake_quantize_learnable: with u = x/s + Z and the clamp widened by half a level to
// [qmin − ½, qmax + ½] (the region where round(u) lands inside the range, which is where the STE passes the
// gradient), x̂ = s·(clamp(u) + R0 − Z), R0 = q0 − clamp(u0) the rounding residual at the unperturbed inputs
// (x0, s0, z0), held constant. Z = round(z0) + (z − z0); s and z enter through s0 + g·(s − s0) (the gradient
// scale g). `codes0` are the codes q0 the forward pass produced at the unperturbed inputs; the step sizes run
// along axis 0.
struct Surrogate {
  std::vector<float> codes0;  // q0
  std::vector<float> scale0;  // s0 per channel
  float z0 = 0.0f;
  bool with_zero_point = false;
  QuantSpec spec;
  float g = 1.0f;

  Tensor operator()(const std::vector<Tensor>& in) const {
    const Tensor& x = in[0];
    const int64_t channels = static_cast<int64_t>(scale0.size());
    const int64_t inner = x.numel() / channels;
    const float qmin = static_cast<float>(spec.qmin()), qmax = static_cast<float>(spec.qmax());
    const float z_rounded = std::clamp(std::nearbyint(z0), qmin, qmax);
    const float z_eff = with_zero_point ? z_rounded + g * (in[2].data()[0] - z0) : 0.0f;
    Tensor out = Tensor::zeros(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = channels == 1 ? 0 : i / inner;
      const float s0 = scale0[static_cast<size_t>(c)];
      const float s = s0 + g * (in[1].data()[c] - s0);
      // The residual at the unperturbed point, from the inputs as they were.
      const double lo = qmin - 0.5, hi = qmax + 0.5;
      const double u0 = static_cast<double>(x0[static_cast<size_t>(i)]) / s0 + z_rounded;
      const double r0 = codes0[static_cast<size_t>(i)] - std::clamp(u0, lo, hi);
      const double u = static_cast<double>(x.data()[i]) / s + z_eff;
      out.data()[i] = static_cast<float>(s * (std::clamp(u, lo, hi) + r0 - z_eff));
    }
    return out;
  }
  std::vector<float> x0;
};

Surrogate surrogate_at(const Tensor& x, const Tensor& scale, const Tensor& zero_point, const QuantSpec& spec,
                       float g, const Tensor& x_hat) {
  Surrogate s;
  s.x0 = x.to_vector();
  s.scale0 = scale.to_vector();
  s.with_zero_point = zero_point.defined();
  s.z0 = s.with_zero_point ? zero_point.to_vector()[0] : 0.0f;
  s.spec = spec;
  s.g = g;
  const float z =
      std::clamp(std::nearbyint(s.z0), static_cast<float>(spec.qmin()), static_cast<float>(spec.qmax()));
  const int64_t inner = x.numel() / scale.numel();
  const std::vector<float> hs = x_hat.to_vector();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float sc = s.scale0[static_cast<size_t>(scale.numel() == 1 ? 0 : i / inner)];
    s.codes0.push_back(std::nearbyint(hs[static_cast<size_t>(i)] / sc) + z);
  }
  return s;
}

// Inputs kept away from rounding ties and from the clamp boundaries, where the surrogate has kinks.
Tensor away_from_ties(const Tensor& x, const std::vector<float>& scales, float zero) {
  Tensor out = x.clone();
  const int64_t inner = x.numel() / static_cast<int64_t>(scales.size());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float s = scales[static_cast<size_t>(scales.size() == 1 ? 0 : i / inner)];
    const float u = out.data()[i] / s + zero;
    const float frac = u - std::floor(u);
    if (std::fabs(frac - 0.5f) < 0.1f) out.data()[i] += 0.2f * s;
  }
  return out;
}

TEST(FakeQuantizeLearnable, ForwardEqualsFakeQuantizeWithTheRoundedZeroPoint) {
  Generator gen(3);
  const Tensor x = Tensor::uniform({300}, -3.0f, 5.0f, gen);
  const QuantSpec spec{4, false, false};
  const Tensor s = Tensor::full({1}, 0.25f), z = Tensor::full({1}, 3.4f);  // Z = 3
  QParams q;
  q.spec = spec;
  q.scale = {0.25f};
  q.zero_point = {3};
  EXPECT_EQ(fake_quantize_learnable(x, s, z, spec, 1.0f).to_vector(), fake_quantize(x, q).to_vector());
  EXPECT_EQ(learnable_qparams(s, z, spec).zero_point, std::vector<int32_t>{3});
}

TEST(FakeQuantizeLearnable, GradientsMatchTheSteSurrogatePerTensorWithZeroPoint) {
  Generator gen(11);
  const QuantSpec spec{3, false, false};  // [0, 7]
  const float g = 0.37f;
  Tensor s = Tensor::full({1}, 0.4f).set_requires_grad(true);
  Tensor z = Tensor::full({1}, 2.2f).set_requires_grad(true);  // Z = 2: range [-0.8, 2.0]
  Tensor x = away_from_ties(Tensor::uniform({40}, -1.6f, 3.0f, gen), {0.4f}, 2.0f).set_requires_grad(true);
  const Tensor x_hat = fake_quantize_learnable(x.detach(), s.detach(), z.detach(), spec, g);
  GradcheckOptions options;
  options.eps = 1e-3f;
  options.surrogate = surrogate_at(x.detach(), s.detach(), z.detach(), spec, g, x_hat);
  const auto f = [&](const std::vector<Tensor>& in) {
    return fake_quantize_learnable(in[0], in[1], in[2], spec, g);
  };
  const GradcheckResult r = gradcheck(f, {x, s, z}, options);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(FakeQuantizeLearnable, GradientsMatchTheSteSurrogatePerChannel) {
  Generator gen(12);
  const QuantSpec spec{2, true, true};  // LSQ weights at 2 bits: {-2, -1, 0, 1}
  const float g = 0.5f;
  Tensor s = Tensor::from_vector({0.3f, 0.05f}, {2}).set_requires_grad(true);
  Tensor w = Tensor::randn({2, 12}, gen, 0.0f, 0.3f);
  for (int64_t i = 12; i < 24; ++i)
    w.data()[i] *= 0.15f;  // the second channel is narrower
  w = away_from_ties(w, {0.3f, 0.05f}, 0.0f).set_requires_grad(true);
  const Tensor x_hat = fake_quantize_learnable(w.detach(), s.detach(), Tensor(), spec, g);
  GradcheckOptions options;
  options.eps = 1e-4f;
  options.surrogate = surrogate_at(w.detach(), s.detach(), Tensor(), spec, g, x_hat);
  const auto f = [&](const std::vector<Tensor>& in) {
    return fake_quantize_learnable(in[0], in[1], Tensor(), spec, g);
  };
  const GradcheckResult r = gradcheck(f, {w, s}, options);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(FakeQuantizeLearnable, StepSizeGradientFollowsTheLsqFormula) {
  // One value inside the range and one above: dx̂/ds = (q − Z) − x/s inside, qmax − Z above (LSQ, eq. 3).
  const QuantSpec spec{2, false, false};  // [0, 3]
  Tensor s = Tensor::full({1}, 1.0f).set_requires_grad(true);
  const Tensor x = Tensor::from_vector({1.3f, 7.0f}, {2});
  fake_quantize_learnable(x, s, Tensor(), spec, 1.0f).backward(Tensor::ones({2}));
  EXPECT_NEAR(s.grad().item(), (1.0f - 1.3f) + 3.0f, 1e-6f);
}

TEST(FakeQuantizeLearnable, RefusesBadStepSizesAndShapes) {
  const QuantSpec spec{4, false, false};
  const Tensor x = Tensor::ones({2, 3});
  EXPECT_THROW(fake_quantize_learnable(x, Tensor::full({1}, 0.0f), Tensor(), spec, 1.0f),
               std::invalid_argument);
  EXPECT_THROW(fake_quantize_learnable(x, Tensor::full({3}, 1.0f), Tensor(), spec, 1.0f),
               std::invalid_argument);
  EXPECT_THROW(fake_quantize_learnable(x, Tensor::full({1}, 1.0f), Tensor(), QuantSpec{1, true, true}, 1.0f),
               std::invalid_argument);
}

TEST(FakeRequantizeLearnable, ForwardIsTheExactIntegerRequantization) {
  Generator gen(21);
  QParams wq;
  wq.spec = {4, true, true};
  wq.scale = {0.02f, 0.05f};
  wq.zero_point = {0, 0};
  wq.axis = 0;
  const float s_in = 0.1f;
  // y on the accumulator grid of each channel, as a conv's output is.
  Tensor y = Tensor::zeros({3, 2, 4});
  for (int64_t i = 0; i < y.numel(); ++i) {
    const int64_t c = (i / 4) % 2;
    y.data()[i] = static_cast<float>(static_cast<int64_t>(gen.below(400)) - 200) * s_in *
                  wq.scale[static_cast<size_t>(c)];
  }
  const QuantSpec spec{8, false, false};
  const Tensor s = Tensor::full({1}, 0.01f), z = Tensor::full({1}, 100.0f);
  QParams out;
  out.spec = spec;
  out.scale = {0.01f};
  out.zero_point = {100};
  EXPECT_EQ(fake_requantize_learnable(y, s_in, wq, s, z, spec, 1.0f).to_vector(),
            fake_requantize(y, s_in, wq, out, Ste::Clipped).to_vector());
}

TEST(FakeRequantizeLearnable, GradientsMatchTheSteSurrogate) {
  Generator gen(22);
  QParams wq;
  wq.spec = {8, true, true};
  wq.scale = {0.01f};
  wq.zero_point = {0};
  const float s_in = 0.05f;
  const QuantSpec spec{3, false, false};
  const float g = 0.8f;
  Tensor y = Tensor::zeros({4, 1, 5});
  for (int64_t i = 0; i < y.numel(); ++i)
    y.data()[i] = static_cast<float>(static_cast<int64_t>(gen.below(8000)) - 4000) * s_in * 0.01f;
  Tensor s = Tensor::full({1}, 0.3f).set_requires_grad(true);
  Tensor z = Tensor::full({1}, 2.9f).set_requires_grad(true);  // Z = 3
  y = away_from_ties(y, {0.3f}, 3.0f).set_requires_grad(true);
  // away_from_ties moved some values off the accumulator grid; put them back on it.
  for (int64_t i = 0; i < y.numel(); ++i)
    y.data()[i] = std::nearbyint(y.data()[i] / (s_in * 0.01f)) * (s_in * 0.01f);
  const Tensor y_hat = fake_requantize_learnable(y.detach(), s_in, wq, s.detach(), z.detach(), spec, g);
  GradcheckOptions options;
  options.eps = 1e-4f;
  options.surrogate = surrogate_at(y.detach(), s.detach(), z.detach(), spec, g, y_hat);
  const auto f = [&](const std::vector<Tensor>& in) {
    return fake_requantize_learnable(in[0], s_in, wq, in[1], in[2], spec, g);
  };
  const GradcheckResult r = gradcheck(f, {y, s, z}, options);
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace
}  // namespace qg::quant
