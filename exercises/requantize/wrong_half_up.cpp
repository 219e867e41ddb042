// A near miss the check must catch: rounds half UP (toward +infinity), floor(x + 1/2), by adding half the
// divisor to the signed product and shifting. Right for every positive product and for negative ones that
// are not exactly on a tie; at a negative tie (-2.5) it gives -2 where the library gives -3.
#include <algorithm>
#include <cstdint>

#include "exercises/requantize/requantize.h"

namespace exercise {

int32_t requantize_to_code(int32_t acc, qg::runtime::QuantizedMultiplier m, int32_t zero, int32_t lo,
                           int32_t hi) {
  const int total_shift = 31 - m.shift;
  const int64_t product = int64_t{acc} * m.multiplier;
  const int64_t rounded = (product + (int64_t{1} << (total_shift - 1))) >> total_shift;  // the bug
  constexpr int64_t kLimit = INT32_MAX;
  const int64_t saturated = std::clamp(rounded, -kLimit, kLimit);
  return static_cast<int32_t>(std::clamp<int64_t>(saturated + zero, lo, hi));
}

}  // namespace exercise
