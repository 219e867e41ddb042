// Requantization: scaling an int32 accumulator by a real multiplier M with integer arithmetic only.
//
// A conv/linear layer with input (S1, Z1), weights (S2, Z2) and output (S3, Z3) computes
//     q3 = Z3 + M * acc,   acc = bias + sum_k (q1 - Z1)(q2 - Z2),   M = S1 * S2 / S3.
// M is a real number known offline. gemmlowp/TFLite (see gemmlowp doc/quantization_example.cc)
// write it as M = M0 * 2^(shift - 31) with M0 an int32 in [2^30, 2^31), i.e. a Q0.31 fixed-point
// number in [0.5, 1). At run time we form the exact 64-bit product acc * M0 (|acc| < 2^31 and
// M0 < 2^31, so it fits in 63 bits) and divide it by 2^(31 - shift) with ONE rounding:
//     r = round(acc * M0 / 2^(31 - shift)),   saturated to [-(2^31 - 1), 2^31 - 1]
//
// Rounding (docs/runtime.md, "Rounding"): half AWAY FROM ZERO, so the operation is odd:
// f(-acc) = -f(acc). gemmlowp's reference instead rounds twice (a rounding doubling high multiply,
// then a rounding shift); two roundings can add up to one unit (M = 0.25, acc = 5: 2.5 -> 3, then
// 1.5 -> 2, not round(1.25) = 1), which at low bit widths, where accumulators are small, made the
// integer model disagree with its fake-quant model on a few percent of outputs. A single rounding
// equals round(M * acc) except when M0's 31-bit approximation of M moves the product across a tie
// (relative error below 2^-31). The two helpers below are gemmlowp's steps, kept for reference and tests.
//
// This header is the one definition of the fixed-point requantization (rounding_shift_right,
// multiply_by_quantized_multiplier, requantize_to_code). Its vectorised forms call it or are tested against
// it: int8::requantize_row (the portable loop calls requantize_to_code; the AVX-512 lanes are compared with
// it in tests/runtime/dot_path_test.cpp) and quant/output_requantize.h (calls rounding_shift_right; compared
// with its reference, which calls multiply_by_quantized_multiplier, in tests/quant/fake_requantize_test.cpp).
//
// The float-simulated requantization of the tutorial (Jermmy/pytorch-quantization-demo,
// `x = (M * x).round()`) is requantize_reference(); it rounds half to EVEN like torch.round.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

namespace qg::runtime {

/// A non-negative real multiplier in fixed point: M ~= multiplier * 2^(shift - 31).
/// multiplier is in [2^30, 2^31) (or 0 for M = 0); shift > 0 means a left shift (M >= 1),
/// shift < 0 a right shift (M < 0.5). Valid shifts are [-31, 30].
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int shift = 0;

  friend bool operator==(const QuantizedMultiplier&, const QuantizedMultiplier&) = default;
};

inline constexpr int kMinMultiplierShift = -31;
inline constexpr int kMaxMultiplierShift = 30;

// The three run-time steps are defined inline here: they run once per output of every layer.

/// Offline: the fixed-point form of `real_multiplier` (must be finite, >= 0 and < 2^30; throws
/// std::invalid_argument otherwise). M0 = round(frac * 2^31) where real = frac * 2^shift, frac in
/// [0.5, 1). Multipliers below 2^-32 become {0, 0}: for any int32 acc, |M * acc| < 0.5 rounds to 0.
QuantizedMultiplier quantize_multiplier(double real_multiplier);

/// The real value a QuantizedMultiplier stands for: multiplier * 2^(shift - 31).
double dequantize_multiplier(QuantizedMultiplier m);

/// round(a * b / 2^31), half away from zero, saturating the single overflow case
/// a = b = INT32_MIN to INT32_MAX. The 64-bit product is exact.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t product = int64_t{a} * int64_t{b};
  // Add half of the divisor in the direction of the sign, then divide truncating toward zero:
  // this rounds half away from zero (gemmlowp uses 1 - 2^30 for negatives; see above).
  const int64_t nudge = product >= 0 ? (int64_t{1} << 30) : -(int64_t{1} << 30);
  return static_cast<int32_t>((product + nudge) / (int64_t{1} << 31));
}

/// round(x / 2^exponent) for exponent in [0, 31], half away from zero.
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  assert(exponent >= 0 && exponent <= 31);
  // Arithmetic shift floors; add one when the discarded remainder is more than half the divisor
  // (at least half for negative x, whose floor already went one step away from zero).
  const int64_t wide = x;
  const int64_t mask = (int64_t{1} << exponent) - 1;
  const int64_t remainder = wide & mask;
  const int64_t threshold = (mask >> 1) + (wide < 0 ? 1 : 0);
  return static_cast<int32_t>((wide >> exponent) + (remainder > threshold ? 1 : 0));
}

/// round(product / 2^total_shift) for total_shift in [1, 62], half away from zero, for |product| < 2^62:
/// the one rounding of the requantization. The sign is handled as a mask, without a branch, so that the
/// loops that call this vectorise (int8::requantize_row's portable path, quant/output_requantize.cpp).
inline int64_t rounding_shift_right(int64_t product, int total_shift) {
  assert(total_shift >= 1 && total_shift <= 62);
  const int64_t sign = product >> 63;  // 0 or -1: (x ^ sign) - sign is |x|, and back
  const int64_t magnitude = (product ^ sign) - sign;
  // Adding half the divisor before the shift rounds halves up in magnitude, i.e. away from zero. It cannot
  // overflow: |product| < 2^62 and half <= 2^61.
  const int64_t rounded = (magnitude + (int64_t{1} << (total_shift - 1))) >> total_shift;
  return (rounded ^ sign) - sign;
}

/// Run time: round(acc * M) in integers only, with one rounding (half away from zero) of the exact
/// 64-bit product acc * M0 (|acc| < 2^31 and M0 < 2^31, so it fits in 63 bits), saturated symmetrically
/// to +-(2^31 - 1) (keeping the function odd). M = 0 ({0, 0}) gives 0.
inline int32_t multiply_by_quantized_multiplier(int32_t acc, QuantizedMultiplier m) {
  assert(m.shift >= kMinMultiplierShift && m.shift <= kMaxMultiplierShift);
  const int64_t rounded = rounding_shift_right(int64_t{acc} * int64_t{m.multiplier}, 31 - m.shift);
  constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(rounded < -kLimit ? -kLimit : (rounded > kLimit ? kLimit : rounded));
}

/// The output code of an accumulator: clamp(zero + multiply_by_quantized_multiplier(acc, m), lo, hi), the
/// addition in 64 bits. What OutputStage::apply computes in RequantMode::Integer, and int8::requantize_row
/// for a whole row.
inline int32_t requantize_to_code(int32_t acc, QuantizedMultiplier m, int32_t zero, int32_t lo, int32_t hi) {
  const int64_t code = int64_t{multiply_by_quantized_multiplier(acc, m)} + zero;
  return static_cast<int32_t>(code < lo ? lo : (code > hi ? hi : code));
}

/// The tutorial's float-simulated requantization: round(real_multiplier * acc) computed in double,
/// rounding half to even (std::nearbyint, like torch.round), saturated to the int32 range.
int32_t requantize_reference(int32_t acc, double real_multiplier);

}  // namespace qg::runtime
