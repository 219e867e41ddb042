#include "quant/quant_point.h"

namespace qg::quant {

void QuantPoint::set_inspecting(bool on, bool track_codes) {
  if (!on) {
    stats_.reset();
    return;
  }
  if (!stats_) stats_.emplace();
  stats_->track_codes = track_codes;
}

Tensor QuantPoint::record(const Tensor& x, Tensor x_hat) const {
  if (stats_) stats_->add(x, x_hat, qparams());
  return x_hat;
}

}  // namespace qg::quant
