// A near miss the check must catch: everything right except that the range is not widened to contain 0,
// so an all-positive range [2, 6] gets a scale for [2, 6] and a zero point below qmin, clamped: real 0 is
// then not a code, and padding or ReLU zeros would be quantized to 2.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "exercises/qparams/qparams.h"

namespace exercise {

void compute_scale_zero_point(float min, float max, const qg::quant::QuantSpec& spec, float& scale,
                              int32_t& zero_point) {
  spec.validate();
  if (!std::isfinite(min) || !std::isfinite(max)) throw std::invalid_argument("non-finite range");
  const double qmin = spec.qmin(), qmax = spec.qmax();
  // the bug: min and max are used as they come, without min(min, 0) and max(max, 0)
  if (spec.symmetric || spec.binary()) {
    scale = static_cast<float>(std::max(-static_cast<double>(min), static_cast<double>(max)) /
                               ((qmax - qmin) / 2));
    zero_point = spec.is_signed ? 0 : static_cast<int32_t>(std::ceil((qmin + qmax) / 2));
  } else {
    scale = static_cast<float>((static_cast<double>(max) - min) / (qmax - qmin));
  }
  if (!(scale > std::numeric_limits<float>::min())) scale = 1.0f;
  if (!spec.symmetric && !spec.binary()) {
    const double zp = std::nearbyint(qmax - max / static_cast<double>(scale));
    zero_point = static_cast<int32_t>(std::clamp(zp, qmin, qmax));
  }
}

}  // namespace exercise
