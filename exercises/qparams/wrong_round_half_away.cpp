// A near miss the check must catch: everything right except the rounding of the zero point, which uses
// std::round (half AWAY from zero, C's round) where the library uses std::nearbyint (half to even, like
// torch.round). The two differ only when qmax - max / scale lands exactly on .5.
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
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  const double qmin = spec.qmin(), qmax = spec.qmax();
  if (spec.symmetric || spec.binary()) {
    scale = static_cast<float>(std::max(-static_cast<double>(min), static_cast<double>(max)) /
                               ((qmax - qmin) / 2));
    zero_point = spec.is_signed ? 0 : static_cast<int32_t>(std::ceil((qmin + qmax) / 2));
  } else {
    scale = static_cast<float>((static_cast<double>(max) - min) / (qmax - qmin));
  }
  if (!(scale > std::numeric_limits<float>::min())) scale = 1.0f;
  if (!spec.symmetric && !spec.binary()) {
    const double zp = std::round(qmax - max / static_cast<double>(scale));  // the bug: ties go away from 0
    zero_point = static_cast<int32_t>(std::clamp(zp, qmin, qmax));
  }
}

}  // namespace exercise
