#include "runtime/requantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace qg::runtime {

namespace {

constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

}  // namespace

QuantizedMultiplier quantize_multiplier(double real_multiplier) {
  if (!std::isfinite(real_multiplier) || real_multiplier < 0.0 ||
      real_multiplier >= std::ldexp(1.0, kMaxMultiplierShift)) {
    throw std::invalid_argument("quantize_multiplier: multiplier must be finite and in [0, 2^30), found " +
                                std::to_string(real_multiplier));
  }
  if (real_multiplier == 0.0) return {};
  int shift = 0;
  const double fraction =
      std::frexp(real_multiplier, &shift);  // real = fraction * 2^shift, fraction in [0.5,1)
  int64_t m0 = std::llround(fraction * static_cast<double>(int64_t{1} << 31));
  if (m0 == (int64_t{1} << 31)) {  // fraction rounded up to 1.0: renormalise to 0.5 * 2^(shift+1)
    m0 /= 2;
    ++shift;
  }
  if (shift < kMinMultiplierShift) return {};  // M < 2^-32: every int32 product rounds to 0
  if (shift > kMaxMultiplierShift) {           // only reachable by rounding up to exactly 2^30
    throw std::invalid_argument("quantize_multiplier: multiplier rounds to 2^30, which is too large");
  }
  return {static_cast<int32_t>(m0), shift};
}

double dequantize_multiplier(QuantizedMultiplier m) {
  return std::ldexp(static_cast<double>(m.multiplier), m.shift - 31);
}

int32_t requantize_reference(int32_t acc, double real_multiplier) {
  const double scaled = std::nearbyint(real_multiplier * static_cast<double>(acc));
  return static_cast<int32_t>(
      std::clamp(scaled, static_cast<double>(kInt32Min), static_cast<double>(kInt32Max)));
}

}  // namespace qg::runtime
