// A near miss the check must catch: right for almost every M, but when fraction * 2^31 rounds up to 2^31
// (fraction just below 1) M0 is not renormalised to 2^30 with shift + 1, and 2^31 wraps to INT32_MIN.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "exercises/quantize_multiplier/quantize_multiplier.h"

namespace exercise {

qg::runtime::QuantizedMultiplier quantize_multiplier(double real_multiplier) {
  if (!std::isfinite(real_multiplier) || real_multiplier < 0.0 || real_multiplier >= std::ldexp(1.0, 30))
    throw std::invalid_argument("bad multiplier");
  if (real_multiplier == 0.0) return {};
  int shift = 0;
  const double fraction = std::frexp(real_multiplier, &shift);
  int64_t m0 = std::llround(fraction * static_cast<double>(int64_t{1} << 31));
  // the bug: no "if (m0 == 2^31) { m0 /= 2; ++shift; }"
  if (shift < -31) return {};
  if (shift > 30) throw std::invalid_argument("multiplier rounds to 2^30");
  return {static_cast<int32_t>(m0), shift};
}

}  // namespace exercise
