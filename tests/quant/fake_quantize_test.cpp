#include <gtest/gtest.h>

#include <cmath>

#include "autograd/function.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "quant/fake_quantize.h"

namespace qg::quant {
namespace {

const QParams kParams = make_per_tensor(-1.0f, 3.0f, {8, false});  // scale 4/255, zp 64

TEST(FakeQuantize, ForwardIsDequantizeOfQuantize) {
  Generator gen(5);
  const Tensor x = Tensor::uniform({200}, -2.0f, 4.0f, gen);
  const std::vector<float> y = fake_quantize(x, kParams).to_vector();
  const std::vector<float> xs = x.to_vector();
  const float s = kParams.scale[0];
  for (size_t i = 0; i < xs.size(); ++i) {
    const float q = std::clamp(std::nearbyint(xs[i] / s + 64.0f), 0.0f, 255.0f);
    EXPECT_EQ(y[i], (q - 64.0f) * s);
    if (xs[i] >= -1.0f && xs[i] <= 3.0f) {
      EXPECT_LE(std::abs(y[i] - xs[i]), s / 2 + 1e-6f);
    }
  }
  // Clamping: values beyond the range saturate at its ends.
  EXPECT_FLOAT_EQ(fake_quantize(Tensor::scalar(10.0f), kParams).item(), (255 - 64) * kParams.scale[0]);
  EXPECT_FLOAT_EQ(fake_quantize(Tensor::scalar(-10.0f), kParams).item(), -64 * kParams.scale[0]);
}

TEST(FakeQuantize, RoundsHalfToEvenLikeTorch) {
  const QParams unit = make_per_tensor(0.0f, 255.0f, {8, false});  // scale 1, zp 0
  EXPECT_EQ(fake_quantize(Tensor::from_vector({0.5f, 1.5f, 2.5f}, {3}), unit).to_vector(),
            (std::vector<float>{0.0f, 2.0f, 2.0f}));
}

TEST(FakeQuantize, IdentityStePassesTheGradientUnchanged) {
  Tensor x = Tensor::from_vector({-5.0f, 0.3f, 2.0f, 9.0f}, {4}).set_requires_grad(true);
  const Tensor g = Tensor::from_vector({1.0f, 2.0f, 3.0f, 4.0f}, {4});
  fake_quantize(x, kParams, Ste::Identity).backward(g);
  EXPECT_EQ(x.grad().to_vector(), g.to_vector());
}

TEST(FakeQuantize, ClippedSteZeroesTheGradientOutsideTheRange) {
  Tensor x = Tensor::from_vector({-5.0f, 0.3f, 2.0f, 9.0f}, {4}).set_requires_grad(true);
  fake_quantize(x, kParams, Ste::Clipped).backward(Tensor::ones({4}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0.0f, 1.0f, 1.0f, 0.0f}));
}

TEST(FakeQuantize, PerChannelUsesEachChannelsScale) {
  const QParams p = make_per_channel({0.0f, 0.0f}, {255.0f, 2.55f}, {8, false});  // scales 1 and 0.01
  const Tensor w = Tensor::from_vector({1.4f, 1.4f, 0.014f, 0.014f}, {2, 2});
  const std::vector<float> y = fake_quantize(w, p).to_vector();
  EXPECT_FLOAT_EQ(y[0], 1.0f);
  EXPECT_NEAR(y[2], 0.01f, 1e-7f);
  EXPECT_THROW(fake_quantize(Tensor::zeros({3, 2}), p), std::invalid_argument);
}

TEST(FakeQuantize, QuantizeCodesAreIntegersInRange) {
  for (int b = 1; b <= 8; ++b) {
    const QParams p = make_per_tensor(-1.0f, 1.0f, {b, false});
    Generator gen(b);
    for (float q : quantize_codes(Tensor::uniform({100}, -3.0f, 3.0f, gen), p).to_vector()) {
      EXPECT_EQ(q, std::nearbyint(q));
      EXPECT_GE(q, 0.0f);
      EXPECT_LE(q, static_cast<float>((1 << b) - 1));
    }
  }
}

// round() written as a Function whose true derivative is 0 almost everywhere.
struct RoundFn {
  static constexpr const char* name = "round";
  Shape shape;
  Tensor forward(const Tensor& in) {
    shape = in.shape();
    Tensor out = in.clone();
    for (int64_t i = 0; i < out.numel(); ++i)
      out.data()[i] = std::nearbyint(out.data()[i]);
    return out;
  }
  std::vector<Tensor> backward(const Tensor&) { return {Tensor::zeros(shape)}; }
};

// The tutorial's demonstration: a weight that goes through round() gets an all-zero gradient (round is
// flat almost everywhere), so it cannot learn; through FakeQuantize's STE it gets the float gradient.
TEST(FakeQuantize, SteMakesARoundedWeightLearnable) {
  Tensor w = Tensor::from_vector({0.3f, -0.7f, 1.2f}, {3}).set_requires_grad(true);
  const Tensor x = Tensor::from_vector({1.0f, 2.0f, 3.0f}, {3});

  sum(qg::apply<RoundFn>(w) * x).backward();
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{0, 0, 0}));

  w.zero_grad();
  sum(fake_quantize(w, kParams) * x).backward();
  EXPECT_EQ(w.grad().to_vector(), x.to_vector());
}

}  // namespace
}  // namespace qg::quant
