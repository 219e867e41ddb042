// The quantization points of the QAT methods: LSQ's initialisation and gradient scale, the learned zero
// point, freezing, state for checkpoints, binary weights, and the statistics --inspect reports.
#include <gtest/gtest.h>

#include <cmath>

#include "quant/points/binary_point.h"
#include "quant/points/learned_point.h"
#include "quant/points/make_points.h"
#include "quant/points/observed_point.h"
#include "quant/quant_stats.h"

namespace qg::quant {
namespace {

TEST(LearnedPoint, InitialisesTheStepSizeAsThePaper) {
  // Weights [2, 4], signed 3-bit (Qp = 3), per channel: s_c = 2 mean|w_c| / sqrt(3).
  LearnedPoint p({QuantSpec{3, true, true}, 2, false, true});
  const Tensor w = Tensor::from_vector({0.5f, -0.5f, 1.0f, -1.0f, 0.1f, 0.1f, -0.3f, 0.3f}, {2, 4});
  p(w, true);
  const QParams q = p.qparams();
  ASSERT_EQ(q.scale.size(), 2u);
  EXPECT_NEAR(q.scale[0], 2.0 * 0.75 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(q.scale[1], 2.0 * 0.2 / std::sqrt(3.0), 1e-6);
  EXPECT_EQ(q.zero_point, (std::vector<int32_t>{0, 0}));
  // g = 1 / sqrt(N Qp) with N = 4 weights per channel.
  EXPECT_NEAR(p.grad_scale(w), 1.0 / std::sqrt(4.0 * 3.0), 1e-7);
  EXPECT_EQ(p.kind(), "lsq");
}

TEST(LearnedPoint, LsqPlusStartsTheGridAtTheSmallestValue) {
  // Activations that can be negative: unsigned 4-bit with a learned zero point (Qp = 15 levels above qmin).
  LearnedPoint p({QuantSpec{4, false, false}, 1, true, false});
  const Tensor x = Tensor::from_vector({-1.0f, 0.0f, 1.0f, 2.0f, -1.0f, 3.0f}, {2, 3});
  p(x, true);
  const QParams q = p.qparams();
  const double s = 2.0 * (8.0 / 6.0) / std::sqrt(15.0);
  EXPECT_NEAR(q.scale[0], s, 1e-6);
  EXPECT_EQ(q.zero_point[0], static_cast<int32_t>(std::nearbyint(1.0 / s)));  // z = -min / s
  EXPECT_EQ(p.kind(), "lsq+");
  EXPECT_NEAR(p.grad_scale(x), 1.0 / std::sqrt(3.0 * 15.0), 1e-7);  // N = 3 values per sample
  ASSERT_EQ(p.parameters().size(), 2u);
  EXPECT_EQ(p.parameters()[1].first, "zero_point");
}

TEST(LearnedPoint, StepSizeStaysPositiveAndFreezeFixesTheGrid) {
  LearnedPoint p({QuantSpec{2, false, false}, 1, false, false});
  const Tensor x = Tensor::from_vector({0.0f, 1.0f, 2.0f, 3.0f}, {1, 4});
  p(x, true);
  Tensor scale = p.parameters()[0].second;
  scale.data()[0] = -5.0f;  // as a large gradient step could leave it
  p(x, true);
  EXPECT_EQ(p.qparams().scale[0], std::numeric_limits<float>::epsilon());
  scale.data()[0] = 0.5f;
  p.freeze();
  scale.data()[0] = 2.0f;  // training after freeze() must not move the grid
  EXPECT_EQ(p.qparams().scale[0], 0.5f);
  EXPECT_EQ(p(x, true).to_vector(), (std::vector<float>{0.0f, 1.0f, 1.5f, 1.5f}));
}

TEST(LearnedPoint, StateSaysWhetherItWasInitialised) {
  LearnedPoint a({QuantSpec{8, false, false}, 1, false, false});
  EXPECT_FALSE(a.state().scalars["initialized"].get<bool>());
  EXPECT_THROW(a.qparams(), std::logic_error);
  a(Tensor::ones({2, 2}), true);
  const ObserverState saved = a.state();
  LearnedPoint b({QuantSpec{8, false, false}, 1, false, false});
  b.load_state(saved);
  EXPECT_TRUE(b.initialized());
  LearnedPoint plus({QuantSpec{8, false, false}, 1, true, false});
  EXPECT_THROW(plus.load_state(saved), std::invalid_argument);  // an lsq state is not an lsq+ one
}

TEST(BinaryPoint, SignsTimesTheMeanMagnitudePerChannel) {
  BinaryPoint p;
  const Tensor w = Tensor::from_vector({0.2f, -0.6f, 1.0f, 3.0f}, {2, 2});
  EXPECT_EQ(p(w, true).to_vector(), (std::vector<float>{0.4f, -0.4f, 2.0f, 2.0f}));
  EXPECT_TRUE(p.qparams().spec.binary());
  EXPECT_THROW(p.requantize(w, 1.0f, p.qparams(), true), std::logic_error);
}

TEST(MakePoints, EachMethodGetsItsKindOfPoint) {
  QuantSettings s;
  s.weight = {4, true, true};
  EXPECT_NE(dynamic_cast<ObservedPoint*>(make_weight_point(s, 3).get()), nullptr);
  s.method = QatMethod::Lsq;
  EXPECT_NE(dynamic_cast<LearnedPoint*>(make_weight_point(s, 3).get()), nullptr);
  EXPECT_EQ(make_output_point(s, true)->kind(), "lsq");    // after a ReLU: Z = 0
  EXPECT_EQ(make_output_point(s, false)->kind(), "lsq+");  // can be negative: learned zero point
  s.weight = {1, true, true};
  EXPECT_NE(dynamic_cast<BinaryPoint*>(make_weight_point(s, 3).get()), nullptr);
}

TEST(QuantStats, SplitsTheErrorIntoRoundingAndClipping) {
  QParams q;
  q.spec = {2, false, false};  // codes 0..3
  q.scale = {1.0f};
  q.zero_point = {0};
  const Tensor x = Tensor::from_vector({0.2f, 1.0f, 2.6f, 5.0f}, {4});
  const Tensor x_hat = Tensor::from_vector({0.0f, 1.0f, 3.0f, 3.0f}, {4});
  QuantStats s;
  s.add(x, x_hat, q);
  EXPECT_EQ(s.values, 4);
  EXPECT_EQ(s.clamped, 1);  // 5 -> 3 is clipping; the others are within half a step
  EXPECT_NEAR(s.rounding, 0.04 + 0.0 + 0.16, 1e-6);
  EXPECT_NEAR(s.clipping, 4.0, 1e-6);
  const double signal = 0.04 + 1.0 + 6.76 + 25.0;
  EXPECT_NEAR(s.sqnr_db(), 10.0 * std::log10(signal / 4.2), 1e-4);
  EXPECT_NEAR(s.clipping_sqnr_db(), 10.0 * std::log10(signal / 4.0), 1e-4);
  EXPECT_DOUBLE_EQ(s.clamped_share(), 0.25);
}

TEST(QuantStats, CountsWeightCodeChanges) {
  QParams q;
  q.spec = {2, true, true};
  q.scale = {1.0f};
  q.zero_point = {0};
  QuantStats s;
  s.track_codes = true;
  const Tensor w0 = Tensor::from_vector({0.1f, 0.9f, -1.2f}, {3});  // codes 0, 1, -1
  const Tensor w1 = Tensor::from_vector({0.6f, 0.9f, -1.2f}, {3});  // 1, 1, -1
  const Tensor w2 = Tensor::from_vector({0.4f, 0.9f, -1.7f}, {3});  // 0, 1, -2
  s.add(w0, w0, q);
  s.add(w1, w1, q);
  s.add(w2, w2, q);
  EXPECT_EQ(s.step_flips, 3);       // one flip, then two
  EXPECT_EQ(s.codes_changed(), 1);  // against the start: only the third weight ends elsewhere
  s.start_epoch();
  EXPECT_EQ(s.codes_changed(), 0);
  EXPECT_EQ(s.values, 0);
}

}  // namespace
}  // namespace qg::quant
