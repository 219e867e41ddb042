// exercise requantize (chapter 7): int32 accumulator -> output code with M0, shift, Z_out and the clamp
//
// The last step of every integer conv/linear layer: its int32 accumulator acc becomes an output code
//
// clang-format off
//     q = clamp(Z_out + round(acc * M), lo, hi),   M = M0 * 2^(shift - 31)   (quantize_multiplier's form)
// clang-format on
//
// in integers only, as qg::runtime::requantize_to_code computes it (runtime/requantize.h; docs/runtime.md,
// "Rounding"). Write requantize_to_code(acc, m, zero, lo, hi):
//
// clang-format off
//   1. The exact product p = acc * m.multiplier in 64 bits (|acc| < 2^31 and M0 < 2^31: it fits in 63 bits).
//   2. ONE rounding: r = round(p / 2^(31 - m.shift)), half AWAY FROM ZERO, so that f(-acc) = -f(acc).
//      31 - shift is in [1, 62]. Hint: round the magnitude |p| (add half the divisor, shift right) and put
//      the sign back; an arithmetic right shift of a negative number rounds toward -infinity, not to zero.
//   3. Saturate r to [-(2^31 - 1), 2^31 - 1] (symmetric, keeping the function odd).
//   4. q = r + zero, computed in 64 bits (r + zero can leave the int32 range), clamped to [lo, hi]
//      (lo..hi is the output code range, or narrower: a fused ReLU clamps at Z_out).
// clang-format on
//
// Example: M = 0.25 (M0 = 2^30, shift = -1), acc = 5: p / 2^32 = 1.25 -> 1; acc = 6: 1.5 -> 2; acc = -6: -2.
// gemmlowp's reference rounds twice (a rounding doubling high multiply, then a rounding shift): for acc = 5
// it gives 2.5 -> 3, then 1.5 -> 2. quantgrad rounds once; the check compares with the library exactly, on
// ties (positive and negative), saturation, clamping and random accumulators and multipliers.
// Run it with: scripts/exercise check requantize
#include <stdexcept>

#include "exercises/requantize/requantize.h"

namespace exercise {

int32_t requantize_to_code(int32_t acc, qg::runtime::QuantizedMultiplier m, int32_t zero, int32_t lo,
                           int32_t hi) {
  (void)acc, (void)m, (void)zero, (void)lo, (void)hi;
  throw std::logic_error("exercise requantize: not written yet");
}

}  // namespace exercise
