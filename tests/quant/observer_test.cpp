#include <gtest/gtest.h>

#include "quant/observers/minmax_observer.h"
#include "quant/observers/percentile_observer.h"

namespace qg::quant {
namespace {

TEST(MinMaxObserver, RunningGlobalRangeNeverShrinks) {
  MinMaxObserver obs({8, false});
  EXPECT_FALSE(obs.has_observed());
  EXPECT_THROW(obs.qparams(), std::logic_error);
  obs.observe(Tensor::from_vector({-1.0f, 2.0f}, {2}));
  obs.observe(Tensor::from_vector({0.5f, 0.6f}, {2}));
  EXPECT_EQ(obs.range(), (std::pair{-1.0f, 2.0f}));
  obs.observe(Tensor::from_vector({-3.0f, 1.0f}, {2}));
  EXPECT_EQ(obs.range(), (std::pair{-3.0f, 2.0f}));
  const QParams p = obs.qparams();
  EXPECT_FLOAT_EQ(p.scale[0], 5.0f / 255.0f);
}

TEST(MinMaxObserver, RejectsNonFiniteValues) {
  MinMaxObserver obs({8});
  EXPECT_THROW(obs.observe(Tensor::from_vector({1.0f, INFINITY}, {2})), std::runtime_error);
}

TEST(MovingAverageMinMaxObserver, FollowsTheMomentumRule) {
  MovingAverageMinMaxObserver obs({8}, 0.5f);
  obs.observe(Tensor::from_vector({-2.0f, 4.0f}, {2}));
  obs.observe(Tensor::from_vector({0.0f, 2.0f}, {2}));  // min: 0.5*-2 + 0.5*0 = -1; max: 3
  EXPECT_EQ(obs.range(), (std::pair{-1.0f, 3.0f}));
  EXPECT_THROW(MovingAverageMinMaxObserver({8}, 0.0f), std::invalid_argument);
}

TEST(PerChannelMinMaxObserver, OneRangePerOutputChannel) {
  PerChannelMinMaxObserver obs({8});
  obs.observe(Tensor::from_vector({-1, 1, 0, 4, 2, 2, 0.5f, 0.25f}, {2, 2, 2}));
  const QParams p = obs.qparams();
  ASSERT_EQ(p.channels(), 2u);
  EXPECT_FLOAT_EQ(p.scale[0], 5.0f / 255.0f);  // channel 0: [-1, 4]
  EXPECT_FLOAT_EQ(p.scale[1], 2.0f / 255.0f);  // channel 1: [0, 2]
  EXPECT_THROW(obs.observe(Tensor::zeros({3, 2})), std::invalid_argument);
}

TEST(PercentileObserver, ClipsOutliers) {
  PercentileObserver obs({8}, 99.0);
  std::vector<float> v;
  for (int i = 0; i < 1000; ++i)
    v.push_back(static_cast<float>(i % 100) / 100.0f);  // bulk in [0, 0.99]
  v[17] = 1000.0f;                                      // one outlier
  obs.observe(Tensor::from_vector(v, {1000}));
  const auto [lo, hi] = obs.range();
  EXPECT_LT(hi, 1.0f);
  EXPECT_GE(hi, 0.97f);
  EXPECT_LE(lo, 0.02f);
  MinMaxObserver minmax({8});
  minmax.observe(Tensor::from_vector(v, {1000}));
  EXPECT_LT(obs.qparams().scale[0], minmax.qparams().scale[0] / 100.0f);
}

TEST(PercentileObserver, KeepsTheDistributionOfManyBatches) {
  PercentileObserver obs({8}, 99.0);
  Generator gen(11);
  for (int batch = 0; batch < 20; ++batch)
    obs.observe(Tensor::uniform({1000}, 0.0f, 1.0f, gen));
  const auto [lo, hi] = obs.range();
  EXPECT_NEAR(hi, 0.99f, 0.02f);
  EXPECT_NEAR(lo, 0.01f, 0.02f);
}

TEST(ObserverFactory, ParsesNames) {
  EXPECT_EQ(parse_observer_kind("histogram"), ObserverKind::Percentile);
  EXPECT_EQ(make_observer({ObserverKind::MovingAverageMinMax, {4}})->type_name(), "moving_average_minmax");
  EXPECT_THROW(parse_observer_kind("kl"), std::invalid_argument);
}

}  // namespace
}  // namespace qg::quant
