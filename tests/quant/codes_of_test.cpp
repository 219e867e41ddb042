// codes_of (quant/integer_layer.h), the vectorised code_of that QAdd runs on whole tensors, against code_of
// (std::lround of x / S) on random values over many magnitudes and scales, on exact ties of both signs and the
// floats next to them, and on what it promises for values it cannot code.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "quant/integer_layer.h"

namespace qg::quant {
namespace {

std::vector<int32_t> vector_codes(const std::vector<float>& x, const runtime::QuantParams& q) {
  std::vector<int32_t> codes(x.size(), -1);
  codes_of(x, q, codes);
  return codes;
}

std::vector<int32_t> scalar_codes(const std::vector<float>& x, const runtime::QuantParams& q) {
  std::vector<int32_t> codes;
  for (const float v : x)
    codes.push_back(code_of(v, q));
  return codes;
}

TEST(CodesOf, EqualsCodeOfOnRandomValuesAndScales) {
  std::mt19937 rng(71);
  std::uniform_real_distribution<double> log_scale(-12.0, 2.0), unit(-1.0, 1.0);
  std::uniform_int_distribution<int32_t> zero_of(-128, 255);
  std::uniform_int_distribution<int> length_of(1, 70);  // vector bodies and scalar tails
  int values = 0;
  for (int round = 0; round < 400; ++round) {
    const runtime::QuantParams q{std::exp2(log_scale(rng)), zero_of(rng), 8, false};
    std::vector<float> x(static_cast<size_t>(length_of(rng)));
    for (float& v : x)  // |x / S| up to 2^20: codes far outside 8 bits too
      v = static_cast<float>(unit(rng) * std::exp2(20.0 * std::abs(unit(rng))) * q.scale);
    ASSERT_EQ(vector_codes(x, q), scalar_codes(x, q))
        << "scale " << q.scale << ", zero point " << q.zero_point;
    values += static_cast<int>(x.size());
  }
  EXPECT_GT(values, 10000);
}

// x / S = k + 1/2 exactly (S a power of two), and the floats just below and above each tie.
TEST(CodesOf, RoundsTiesAwayFromZeroAsLround) {
  for (const double scale : {1.0, 0.5, 0x1p-7, 0x1p-20, 4.0}) {
    const runtime::QuantParams q{scale, 7, 8, false};
    std::vector<float> x;
    for (int k = -300; k <= 300; ++k) {
      const auto tie = static_cast<float>((k + 0.5) * scale);
      x.insert(x.end(), {tie, std::nextafter(tie, -INFINITY), std::nextafter(tie, INFINITY)});
    }
    const std::vector<int32_t> codes = vector_codes(x, q);
    EXPECT_EQ(codes, scalar_codes(x, q)) << "scale " << scale;
    EXPECT_EQ(codes[3 * 300], 7 + 1) << "0.5 rounds to 1";    // k = 0
    EXPECT_EQ(codes[3 * 299], 7 - 1) << "-0.5 rounds to -1";  // k = -1
    EXPECT_EQ(codes[3 * 301], 7 + 2) << "1.5 rounds to 2";    // k = 1
    EXPECT_EQ(codes[3 * 298], 7 - 2) << "-1.5 rounds to -2";  // k = -2
  }
}

// What the header promises for values without a usable code: Z + 2^30 for NaN and +inf, Z - 2^30 for -inf and
// values beyond -2^30 steps, and no undefined conversion on the way (the sanitizer build runs this).
TEST(CodesOf, BoundsValuesItCannotCode) {
  const runtime::QuantParams q{0.5, 3, 8, false};
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {std::nanf(""), inf, -inf, 1e30f, -1e30f, 1.0f};
  const std::vector<int32_t> expected = {3 + (1 << 30), 3 + (1 << 30), 3 - (1 << 30),
                                         3 + (1 << 30), 3 - (1 << 30), 3 + 2};
  EXPECT_EQ(vector_codes(x, q), expected);
}

}  // namespace
}  // namespace qg::quant
