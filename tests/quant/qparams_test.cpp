#include <gtest/gtest.h>

#include <cmath>

#include "quant/qparams.h"

namespace qg::quant {
namespace {

TEST(QuantSpec, RangesForEveryBitWidth) {
  for (int b = 1; b <= 8; ++b) {
    const QuantSpec u{b, false}, s{b, true};
    EXPECT_EQ(u.qmin(), 0);
    EXPECT_EQ(u.qmax(), (1 << b) - 1);
    EXPECT_EQ(s.qmin(), -(1 << (b - 1)));
    EXPECT_EQ(s.qmax(), b == 1 ? 1 : (1 << (b - 1)) - 1);  // signed 1-bit codes are binary: -1, +1
    EXPECT_EQ(s.binary(), b == 1);
    EXPECT_FALSE(u.binary());
  }
  EXPECT_THROW(QuantSpec{0}.validate(), std::invalid_argument);
  EXPECT_THROW(QuantSpec{9}.validate(), std::invalid_argument);
}

TEST(QParams, TutorialFormula) {
  // [-1, 3] at 8 bits unsigned: scale = 4/255, zero_point = round(255 - 3/scale) = round(63.75) = 64.
  const QParams p = make_per_tensor(-1.0f, 3.0f, {8, false});
  EXPECT_FLOAT_EQ(p.scale[0], 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point[0], 64);
  // Real zero is exactly representable: q = zp maps back to 0.
  EXPECT_EQ(p.scale[0] * (p.zero_point[0] - p.zero_point[0]), 0.0f);
}

TEST(QParams, RangeIsWidenedToIncludeZero) {
  const QParams positive = make_per_tensor(2.0f, 5.0f, {8, false});  // treated as [0, 5]
  EXPECT_FLOAT_EQ(positive.scale[0], 5.0f / 255.0f);
  EXPECT_EQ(positive.zero_point[0], 0);
  const QParams negative = make_per_tensor(-4.0f, -1.0f, {8, false});  // treated as [-4, 0]
  EXPECT_EQ(negative.zero_point[0], 255);
}

TEST(QParams, DegenerateRangesGiveFiniteParameters) {
  for (int b = 1; b <= 8; ++b) {
    for (bool is_signed : {false, true}) {
      for (bool symmetric : {false, true}) {
        const QuantSpec spec{b, is_signed, symmetric};
        for (auto [lo, hi] : {std::pair{0.0f, 0.0f}, {3.0f, 3.0f}, {-2.0f, -2.0f}, {-1e-30f, 1e-30f}}) {
          const QParams p = make_per_tensor(lo, hi, spec);
          EXPECT_TRUE(std::isfinite(p.scale[0]) && p.scale[0] > 0) << b << " " << lo << " " << hi;
          EXPECT_GE(p.zero_point[0], spec.qmin());
          EXPECT_LE(p.zero_point[0], spec.qmax());
        }
      }
    }
  }
  EXPECT_THROW(make_per_tensor(0.0f, NAN, {8}), std::invalid_argument);
  EXPECT_THROW(make_per_tensor(-INFINITY, 1.0f, {8}), std::invalid_argument);
}

TEST(QParams, OneBitUnsigned) {
  // [-1, 1] at 1 bit: scale = 2, zero_point = round(1 - 1/2) = round(0.5) = 0 (half to even).
  const QParams p = make_per_tensor(-1.0f, 1.0f, {1, false});
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f);
  EXPECT_EQ(p.zero_point[0], 0);
}

TEST(QParams, SymmetricSignedHasZeroZeroPoint) {
  const QParams p = make_per_tensor(-0.5f, 2.0f, {8, true, true});
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 127.5f);
  const QParams u = make_per_tensor(-0.5f, 2.0f, {8, false, true});
  EXPECT_EQ(u.zero_point[0], 128);
}

TEST(QParams, PerChannel) {
  const QParams p = make_per_channel({-1.0f, 0.0f}, {1.0f, 2.0f}, {8, false});
  ASSERT_EQ(p.channels(), 2u);
  EXPECT_TRUE(p.per_channel());
  EXPECT_FLOAT_EQ(p.scale[1], 2.0f / 255.0f);
  EXPECT_EQ(p.zero_point[1], 0);
  EXPECT_THROW(make_per_channel({1.0f}, {1.0f, 2.0f}, {8}), std::invalid_argument);
}

}  // namespace
}  // namespace qg::quant
