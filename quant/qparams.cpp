#include "quant/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace qg::quant {

void QuantSpec::validate() const {
  if (bits < 1 || bits > 8)
    throw std::invalid_argument("quant: bits must be in 1..8, got " + std::to_string(bits));
}

void compute_scale_zero_point(float min, float max, const QuantSpec& spec, float& scale,
                              int32_t& zero_point) {
  spec.validate();
  if (!std::isfinite(min) || !std::isfinite(max)) {
    throw std::invalid_argument("quant: cannot compute a scale for a non-finite range [" +
                                std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  const double qmin = spec.qmin(), qmax = spec.qmax();
  if (spec.symmetric || spec.binary()) {  // binary codes are +-1: the scale is the largest magnitude
    const double half_levels = (qmax - qmin) / 2.0;
    const double bound = std::max(-static_cast<double>(min), static_cast<double>(max));
    scale = static_cast<float>(bound / half_levels);
    zero_point = spec.is_signed ? 0 : static_cast<int32_t>(std::ceil((qmin + qmax) / 2.0));
  } else {
    scale = static_cast<float>((static_cast<double>(max) - min) / (qmax - qmin));
  }
  if (!(scale > std::numeric_limits<float>::min())) scale = 1.0f;  // all-zero range: any scale is exact
  if (!spec.symmetric && !spec.binary()) {
    // The tutorial's form, qmax - max / scale (equal to qmin - min / scale in exact arithmetic).
    const double zp = std::nearbyint(qmax - max / static_cast<double>(scale));
    zero_point = static_cast<int32_t>(std::clamp(zp, qmin, qmax));
  }
}

QParams make_per_tensor(float min, float max, const QuantSpec& spec) {
  QParams p;
  p.spec = spec;
  p.scale.resize(1);
  p.zero_point.resize(1);
  compute_scale_zero_point(min, max, spec, p.scale[0], p.zero_point[0]);
  return p;
}

QParams make_per_channel(const std::vector<float>& mins, const std::vector<float>& maxs,
                         const QuantSpec& spec, int64_t axis) {
  if (mins.size() != maxs.size() || mins.empty()) {
    throw std::invalid_argument(
        "quant: per-channel ranges need equal, non-zero numbers of minima and maxima");
  }
  QParams p;
  p.spec = spec;
  p.axis = axis;
  p.scale.resize(mins.size());
  p.zero_point.resize(mins.size());
  for (size_t c = 0; c < mins.size(); ++c)
    compute_scale_zero_point(mins[c], maxs[c], spec, p.scale[c], p.zero_point[c]);
  return p;
}

std::string QParams::describe() const {
  std::ostringstream out;
  out << spec.bits << "-bit " << (spec.is_signed ? "signed" : "unsigned")
      << (spec.symmetric ? " symmetric" : "");
  if (per_channel()) {
    out << " per-channel(" << channels() << ")";
  } else {
    out << " scale=" << scale[0] << " zero_point=" << zero_point[0];
  }
  return out.str();
}

}  // namespace qg::quant
