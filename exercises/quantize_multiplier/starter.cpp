// exercise quantize_multiplier (chapter 7): real multiplier M -> int32 M0 and shift, as gemmlowp/TFLite do
//
// An integer conv layer scales its int32 accumulator by the real number M = S_in * S_w / S_out. The integer
// runtime never multiplies by a float: offline, M is written as a Q0.31 fixed-point number and a power of 2,
//
// clang-format off
//     M ~= M0 * 2^(shift - 31),   M0 an int32 in [2^30, 2^31)   (so M0 / 2^31 is in [0.5, 1))
// clang-format on
//
// (gemmlowp doc/quantization_example.cc; TFLite's QuantizeMultiplier in
// kernels/internal/quantization_util.cc; runtime/requantize.h). Write quantize_multiplier(M) exactly as
// qg::runtime::quantize_multiplier does:
//
// clang-format off
//   1. M must be finite, >= 0 and < 2^30: otherwise throw std::invalid_argument.
//   2. M == 0 gives {multiplier = 0, shift = 0}.
//   3. Split M = fraction * 2^shift with fraction in [0.5, 1): std::frexp(M, &shift).
//   4. M0 = round(fraction * 2^31) in 64 bits (std::llround: half away from zero).
//   5. Rounding may give M0 = 2^31, which is not an int32: then M0 = 2^30 and shift + 1 (the same value).
//   6. shift < -31 (M < 2^-32: M * acc rounds to 0 for every int32 acc): return {0, 0}.
//      shift > 30 (only when M rounds up to exactly 2^30): throw std::invalid_argument.
// clang-format on
//
// Example: M = 1/24 = 0.6666.. * 2^-4, so shift = -4 and M0 = round(0.6666.. * 2^31) = 1431655765.
// The check compares your {multiplier, shift} with the library's exactly on random M in (0, 1) and
// [1, 2^30), powers of two, M whose fraction rounds up to 1, the smallest multipliers and bad input.
// Run it with: scripts/exercise check quantize_multiplier
#include <stdexcept>

#include "exercises/quantize_multiplier/quantize_multiplier.h"

namespace exercise {

qg::runtime::QuantizedMultiplier quantize_multiplier(double real_multiplier) {
  (void)real_multiplier;
  throw std::logic_error("exercise quantize_multiplier: not written yet");
}

}  // namespace exercise
