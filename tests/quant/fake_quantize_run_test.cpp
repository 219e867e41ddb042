// fake_quantize_run and quantize_codes_run (quant/fake_quantize_run.h), the vectorised formula every QAT
// quantizer runs, against the formula written out one element at a time in the plainest way: on random runs
// of many lengths (vector bodies and tails), on exact ties, at the range's edges, on NaN and infinities, with
// and without the in-range mask, and in place.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "quant/fake_quantize_run.h"

namespace qg::quant {
namespace {

struct Grid {
  float s;
  int32_t zero_point;
  float qmin, qmax;
};

struct Expected {
  std::vector<float> x_hat, in_range, codes;
};

// The formula as the tutorial writes it: q = round(x / s + Z) with ties to even, clamp, dequantize.
Expected plain_formula(const std::vector<float>& x, const Grid& g) {
  Expected e;
  for (const float v : x) {
    const float q = std::nearbyint(v / g.s + static_cast<float>(g.zero_point));
    const bool inside = q >= g.qmin && q <= g.qmax;                      // false for NaN
    const float code = q < g.qmin ? g.qmin : (q > g.qmax ? g.qmax : q);  // NaN stays NaN, -0 stays -0
    e.codes.push_back(code);
    e.x_hat.push_back((code - static_cast<float>(g.zero_point)) * g.s);
    e.in_range.push_back(inside ? 1.0f : 0.0f);
  }
  return e;
}

// Bitwise equality, so that NaN equals NaN and -0.0 differs from 0.0.
void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t a = 0, b = 0;
    std::memcpy(&a, &got[i], sizeof a);
    std::memcpy(&b, &want[i], sizeof b);
    ASSERT_EQ(a, b) << what << "[" << i << "]: " << got[i] << " against " << want[i];
  }
}

void check(const std::vector<float>& x, const Grid& g) {
  const Expected e = plain_formula(x, g);
  const auto n = static_cast<int64_t>(x.size());
  std::vector<float> x_hat(x.size(), -7.0f), mask(x.size(), -7.0f), codes(x.size(), -7.0f);
  fake_quantize_run(x.data(), n, g.s, g.zero_point, g.qmin, g.qmax, x_hat.data(), mask.data());
  expect_same_bits(x_hat, e.x_hat, "x_hat");
  expect_same_bits(mask, e.in_range, "in_range");
  std::vector<float> without_mask(x.size(), -7.0f);
  fake_quantize_run(x.data(), n, g.s, g.zero_point, g.qmin, g.qmax, without_mask.data(), nullptr);
  expect_same_bits(without_mask, e.x_hat, "x_hat without the mask");
  std::vector<float> in_place = x;
  fake_quantize_run(in_place.data(), n, g.s, g.zero_point, g.qmin, g.qmax, in_place.data(), mask.data());
  expect_same_bits(in_place, e.x_hat, "x_hat in place");
  quantize_codes_run(x.data(), n, g.s, g.zero_point, g.qmin, g.qmax, codes.data());
  expect_same_bits(codes, e.codes, "codes");
}

TEST(FakeQuantizeRun, EqualsThePlainFormulaOnRandomRuns) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> log_scale(-10.0f, 1.0f), unit(-1.0f, 1.0f);
  std::uniform_int_distribution<int> bits_of(2, 8), length_of(0, 70);
  for (int round = 0; round < 300; ++round) {
    const int bits = bits_of(rng);
    const bool is_signed = round % 2 == 0;
    const float qmin = is_signed ? -std::ldexp(1.0f, bits - 1) : 0.0f;
    const float qmax = qmin + std::ldexp(1.0f, bits) - 1.0f;
    const Grid g{
        std::exp2(log_scale(rng)),
        static_cast<int32_t>(qmin) + static_cast<int32_t>(rng() % static_cast<uint32_t>(qmax - qmin + 1)),
        qmin, qmax};
    std::vector<float> x(static_cast<size_t>(length_of(rng)));
    for (float& v : x)  // codes up to twice the range on either side: both clamps and the inside
      v = unit(rng) * 2.0f * (qmax - qmin) * g.s;
    check(x, g);
  }
}

TEST(FakeQuantizeRun, TiesRoundToEvenAndTheEdgesAreInRange) {
  // s = 0.5, Z = 1, codes in [0, 3]: x / s + Z lands on .5 ties and exactly on qmin and qmax.
  const Grid g{0.5f, 1, 0.0f, 3.0f};
  const std::vector<float> x = {-0.75f, -0.5f, -0.25f, 0.0f, 0.25f, 0.75f, 1.0f, 1.25f, 1.5f, -0.7499f};
  check(x, g);
  std::vector<float> x_hat(x.size()), mask(x.size());
  fake_quantize_run(x.data(), static_cast<int64_t>(x.size()), g.s, g.zero_point, g.qmin, g.qmax, x_hat.data(),
                    mask.data());
  // -0.75 / 0.5 + 1 = -0.5 rounds to -0 (even): inside, x̂ = -0.5; 1.25 / 0.5 + 1 = 3.5 rounds to 4: outside.
  EXPECT_EQ(mask[0], 1.0f);
  EXPECT_EQ(x_hat[0], -0.5f);
  EXPECT_EQ(mask[1], 1.0f);  // q = 0 = qmin
  EXPECT_EQ(mask[6], 1.0f);  // q = 3 = qmax
  EXPECT_EQ(mask[7], 0.0f);
  EXPECT_EQ(x_hat[7], 1.0f);  // clamped to 3: (3 - 1) * 0.5
  EXPECT_EQ(mask[8], 0.0f);
}

TEST(FakeQuantizeRun, NanAndInfinitiesAreOutOfRange) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const Grid g{0.1f, 0, -8.0f, 7.0f};
  std::vector<float> x(40, 0.3f);  // long enough for the vector loops to meet the special values
  x[3] = nan;
  x[17] = inf;
  x[18] = -inf;
  x[33] = 3e38f;  // x / s overflows to infinity
  check(x, g);
  std::vector<float> x_hat(x.size()), mask(x.size());
  fake_quantize_run(x.data(), 40, g.s, g.zero_point, g.qmin, g.qmax, x_hat.data(), mask.data());
  EXPECT_TRUE(std::isnan(x_hat[3]));
  EXPECT_EQ(mask[3], 0.0f);
  EXPECT_EQ(x_hat[17], 7.0f * 0.1f);
  EXPECT_EQ(x_hat[18], -8.0f * 0.1f);
  EXPECT_EQ(mask[17] + mask[18] + mask[33], 0.0f);
  EXPECT_EQ(mask[0], 1.0f);
}

}  // namespace
}  // namespace qg::quant
