// The offline and run-time requantization math: quantize_multiplier, the fixed-point multiply and its
// two rounding steps, and the tutorial's float reference.
#include "runtime/requantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <random>

namespace qg::runtime {
namespace {

constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();

/// round(numerator / 2^exponent) with ties away from zero, in exact 128-bit integer arithmetic.
int64_t exact_round_div_pot(__int128 numerator, int exponent) {
  if (exponent == 0) return static_cast<int64_t>(numerator);
  const __int128 half = static_cast<__int128>(1) << (exponent - 1);
  const __int128 magnitude = numerator < 0 ? -numerator : numerator;
  const __int128 rounded = (magnitude + half) >> exponent;
  return static_cast<int64_t>(numerator < 0 ? -rounded : rounded);
}

TEST(QuantizeMultiplier, KnownValues) {
  EXPECT_EQ(quantize_multiplier(0.0), (QuantizedMultiplier{0, 0}));
  EXPECT_EQ(quantize_multiplier(0.5), (QuantizedMultiplier{1 << 30, 0}));
  EXPECT_EQ(quantize_multiplier(0.75), (QuantizedMultiplier{3 << 29, 0}));
  EXPECT_EQ(quantize_multiplier(1.0), (QuantizedMultiplier{1 << 30, 1}));
  EXPECT_EQ(quantize_multiplier(3.0), (QuantizedMultiplier{3 << 29, 2}));
  EXPECT_EQ(quantize_multiplier(0.1),
            (QuantizedMultiplier{static_cast<int32_t>(std::llround(0.8 * 2147483648.0)), -3}));
  // 0.5 * 2^-30 is the smallest power of two kept; half of it is flushed to zero.
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -31)), (QuantizedMultiplier{1 << 30, -30}));
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -32)), (QuantizedMultiplier{1 << 30, -31}));
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -33)), (QuantizedMultiplier{0, 0}));
  // A fraction that rounds up to 1.0 renormalises to 0.5 * 2^(shift + 1).
  EXPECT_EQ(quantize_multiplier(1.0 - std::ldexp(1.0, -40)), (QuantizedMultiplier{1 << 30, 1}));
}

TEST(QuantizeMultiplier, RejectsNegativeNonFiniteAndHuge) {
  EXPECT_THROW(quantize_multiplier(-0.5), std::invalid_argument);
  EXPECT_THROW(quantize_multiplier(std::nan("")), std::invalid_argument);
  EXPECT_THROW(quantize_multiplier(INFINITY), std::invalid_argument);
  EXPECT_THROW(quantize_multiplier(std::ldexp(1.0, 30)), std::invalid_argument);
  EXPECT_NO_THROW(quantize_multiplier(std::ldexp(1.0, 29)));
}

TEST(QuantizeMultiplier, MantissaInRangeAndRelativeErrorBelow2PowMinus31) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> log2_m(-31.0, 29.0);
  for (int i = 0; i < 20000; ++i) {
    const double m = std::exp2(log2_m(rng));
    const QuantizedMultiplier q = quantize_multiplier(m);
    ASSERT_GE(q.multiplier, 1 << 30) << m;
    ASSERT_GE(q.shift, kMinMultiplierShift);
    ASSERT_LE(q.shift, kMaxMultiplierShift);
    ASSERT_LE(std::abs(dequantize_multiplier(q) - m), m * std::ldexp(1.0, -31)) << m;
  }
}

TEST(RoundingDoublingHighMul, RoundsHalfAwayFromZero) {
  // 3 * 2^30 / 2^31 = 1.5 and its negative: both ties go away from zero (gemmlowp gives -1 for the latter).
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-3, 1 << 30), -2);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);     // 0.5
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-1, 1 << 30), -1);   // -0.5
  EXPECT_EQ(saturating_rounding_doubling_high_mul(5, 1 << 29), 1);     // 1.25
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-7, 1 << 29), -2);   // -1.75
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin, kMin), kMax);  // the one overflow saturates
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMax, kMax), kMax - 1);
}

TEST(RoundingDoublingHighMul, MatchesExactArithmeticOnRandomOperands) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> any(kMin, kMax);
  for (int i = 0; i < 100000; ++i) {
    const int32_t a = any(rng), b = any(rng);
    if (a == kMin && b == kMin) continue;
    ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b),
              exact_round_div_pot(static_cast<__int128>(a) * b, 31))
        << a << " * " << b;
  }
}

TEST(RoundingDivideByPot, TiesAwayFromZeroAndExactElsewhere) {
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);
  EXPECT_EQ(rounding_divide_by_pot(6, 2), 2);    // 1.5
  EXPECT_EQ(rounding_divide_by_pot(-6, 2), -2);  // -1.5
  EXPECT_EQ(rounding_divide_by_pot(5, 2), 1);    // 1.25
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);  // -1.75
  EXPECT_EQ(rounding_divide_by_pot(kMax, 31), 1);
  EXPECT_EQ(rounding_divide_by_pot(kMin, 31), -1);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> any(kMin, kMax);
  for (int exponent = 0; exponent <= 31; ++exponent) {
    for (int i = 0; i < 3000; ++i) {
      const int32_t x = any(rng) >> (i % 31);  // many magnitudes, so small x meet large exponents
      ASSERT_EQ(rounding_divide_by_pot(x, exponent), exact_round_div_pot(x, exponent))
          << x << " >> " << exponent;
    }
  }
}

TEST(MultiplyByQuantizedMultiplier, KnownValues) {
  const QuantizedMultiplier half = quantize_multiplier(0.5);
  EXPECT_EQ(multiply_by_quantized_multiplier(3, half), 2);
  EXPECT_EQ(multiply_by_quantized_multiplier(-3, half), -2);
  EXPECT_EQ(multiply_by_quantized_multiplier(1, half), 1);
  EXPECT_EQ(multiply_by_quantized_multiplier(-1, half), -1);
  const QuantizedMultiplier quarter = quantize_multiplier(0.25);
  EXPECT_EQ(multiply_by_quantized_multiplier(6, quarter), 2);     // 1.5
  EXPECT_EQ(multiply_by_quantized_multiplier(-6, quarter), -2);   // -1.5
  EXPECT_EQ(multiply_by_quantized_multiplier(7, quarter), 2);     // 1.75
  EXPECT_EQ(multiply_by_quantized_multiplier(-11, quarter), -3);  // -2.75
  const QuantizedMultiplier one = quantize_multiplier(1.0);
  for (const int32_t x : {0, 1, -1, 12345, -98765, (1 << 30) - 1, -(1 << 30) + 1}) {
    EXPECT_EQ(multiply_by_quantized_multiplier(x, one), x);
  }
  EXPECT_EQ(multiply_by_quantized_multiplier(kMax, one), kMax);
  const QuantizedMultiplier two = quantize_multiplier(2.0);
  EXPECT_EQ(multiply_by_quantized_multiplier(1000, two), 2000);
  EXPECT_EQ(multiply_by_quantized_multiplier(-1000, two), -2000);
  // Products beyond int32 saturate symmetrically.
  EXPECT_EQ(multiply_by_quantized_multiplier(kMax, two), kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, two), -kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMax, QuantizedMultiplier{}), 0);
  // The smallest representable multiplier, 2^-32.
  const QuantizedMultiplier tiny = quantize_multiplier(std::ldexp(1.0, -32));
  EXPECT_EQ(multiply_by_quantized_multiplier(1 << 30, tiny), 0);  // 0.25
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, tiny), -1);    // exactly -0.5: away from zero
}

// gemmlowp's two steps round twice, and the second can land on a tie the first created; our single
// rounding of the exact product does not.
TEST(MultiplyByQuantizedMultiplier, RoundsOnceNotTwice) {
  const QuantizedMultiplier quarter = quantize_multiplier(0.25);  // {2^30, shift -1}
  // gemmlowp: 5 * 0.5 = 2.5 -> 3, then 3 / 2 = 1.5 -> 2. Exact: 5 * 0.25 = 1.25 -> 1.
  EXPECT_EQ(rounding_divide_by_pot(saturating_rounding_doubling_high_mul(5, quarter.multiplier), 1), 2);
  EXPECT_EQ(multiply_by_quantized_multiplier(5, quarter), 1);
  EXPECT_EQ(multiply_by_quantized_multiplier(-5, quarter), -1);
  // M = 1/13, acc = 6: 0.4615 rounds to 0 (two roundings gave 1).
  EXPECT_EQ(multiply_by_quantized_multiplier(6, quantize_multiplier(1.0 / 13.0)), 0);
  // kMax * 2^-32 = 0.4999999998 rounds to 0.
  EXPECT_EQ(multiply_by_quantized_multiplier(kMax, quantize_multiplier(std::ldexp(1.0, -32))), 0);
}

TEST(MultiplyByQuantizedMultiplier, IsOdd) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int32_t> any(kMin + 1, kMax);
  std::uniform_real_distribution<double> log2_m(-33.0, 8.0);
  for (int i = 0; i < 20000; ++i) {
    const QuantizedMultiplier m = quantize_multiplier(std::exp2(log2_m(rng)));
    const int32_t x = any(rng) >> (i % 31);
    ASSERT_EQ(multiply_by_quantized_multiplier(-x, m), -multiply_by_quantized_multiplier(x, m)) << x;
  }
}

// The fixed-point result against round(M * acc) in extended precision, over multipliers from below
// 2^-31 to far above 1 and accumulators of every magnitude. Against the multiplier actually stored,
// M_q = M0 * 2^(shift - 31), the single rounding is exact: round(M_q * acc) whenever that fits in int32,
// else saturation. Against the real M, M0's 31-bit approximation adds a relative error below 2^-31, so
// the result can be one unit off only when |M * acc| is large (never for 8-bit output codes); that
// distribution is printed.
TEST(MultiplyByQuantizedMultiplier, MatchesTheRoundedProductOrSaturates) {
  std::mt19937 rng(5);
  std::vector<double> multipliers = {1.0,
                                     1.0 - 1e-12,
                                     1.0 + 1e-12,
                                     0.5,
                                     2.0,
                                     std::ldexp(1.0, -31),
                                     std::ldexp(1.0, -32),
                                     std::ldexp(0.999, -32),
                                     std::ldexp(1.0, -40)};
  std::uniform_real_distribution<double> log2_m(-36.0, 12.0);
  while (multipliers.size() < 3000)
    multipliers.push_back(std::exp2(log2_m(rng)));
  std::uniform_int_distribution<int32_t> any(kMin, kMax);
  std::uniform_int_distribution<int> magnitude(0, 31);
  std::map<int64_t, int64_t> errors;  // error -> count
  int64_t compared = 0, saturated = 0;
  for (const double m : multipliers) {
    const QuantizedMultiplier q = quantize_multiplier(m);
    for (int i = 0; i < 300; ++i) {
      const int32_t acc = any(rng) >> magnitude(rng);
      const long double stored = static_cast<long double>(dequantize_multiplier(q)) * acc;  // exact
      const int32_t result = multiply_by_quantized_multiplier(acc, q);
      if (std::fabs(stored) >= static_cast<long double>(kMax) + 0.5L) {
        ++saturated;
        ASSERT_EQ(result, stored > 0 ? kMax : -kMax) << "M = " << m << ", acc = " << acc;
        continue;
      }
      ASSERT_EQ(result, static_cast<int64_t>(std::round(stored))) << "M = " << m << ", acc = " << acc;
      const long double exact = static_cast<long double>(m) * acc;
      const int64_t error = int64_t{result} - static_cast<int64_t>(std::round(exact));  // ties away from zero
      ++errors[error];
      ++compared;
      ASSERT_LE(std::abs(error), 1) << "M = " << m << ", acc = " << acc;
      if (std::fabs(exact) < 1024) {
        ASSERT_EQ(error, 0) << "M = " << m << ", acc = " << acc;
      }
    }
  }
  std::cout << "[ distribution ] fixed-point minus round(M*acc) over " << compared << " products ("
            << saturated << " saturated):";
  for (const auto& [error, count] : errors)
    std::cout << "  " << error << ": " << count;
  std::cout << "\n";
  ASSERT_GT(compared, 500000);
}

TEST(RequantizeReference, RoundsHalfToEvenLikeTorchRound) {
  EXPECT_EQ(requantize_reference(5, 0.5), 2);    // 2.5
  EXPECT_EQ(requantize_reference(7, 0.5), 4);    // 3.5
  EXPECT_EQ(requantize_reference(-5, 0.5), -2);  // -2.5
  EXPECT_EQ(requantize_reference(-3, 0.5), -2);  // -1.5
  EXPECT_EQ(requantize_reference(5, 0.3), 2);    // 1.5 - tiny (0.3 is below 3/10 in binary)
  EXPECT_EQ(requantize_reference(kMax, 4.0), kMax);
  EXPECT_EQ(requantize_reference(kMin, 4.0), kMin);
}

}  // namespace
}  // namespace qg::runtime
