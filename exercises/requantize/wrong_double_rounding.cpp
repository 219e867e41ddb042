// A near miss the check must catch: gemmlowp's reference requantization, which rounds TWICE: a rounding
// doubling high multiply round(acc * M0 / 2^31), then a rounding right shift by -shift (runtime/requantize.h
// keeps both steps for reference). The two roundings can add up: M = 0.25, acc = 5 gives 2.5 -> 3, then
// 1.5 -> 2, where one rounding of 1.25 gives 1.
#include <algorithm>
#include <cstdint>

#include "exercises/requantize/requantize.h"

namespace exercise {

int32_t requantize_to_code(int32_t acc, qg::runtime::QuantizedMultiplier m, int32_t zero, int32_t lo,
                           int32_t hi) {
  namespace rt = qg::runtime;
  const int left = std::max(m.shift, 0), right = std::max(-m.shift, 0);
  const int64_t shifted = std::clamp<int64_t>(int64_t{acc} * (int64_t{1} << left), INT32_MIN, INT32_MAX);
  const int32_t high = rt::saturating_rounding_doubling_high_mul(static_cast<int32_t>(shifted), m.multiplier);
  const int32_t scaled = rt::rounding_divide_by_pot(high, right);  // the bug: a second rounding
  return static_cast<int32_t>(std::clamp<int64_t>(int64_t{scaled} + zero, lo, hi));
}

}  // namespace exercise
