#include "quant/quant_stats.h"

#include <cmath>
#include <limits>

#include "quant/fake_quantize.h"

namespace qg::quant {

namespace {

double db(double signal, double error) {
  if (error <= 0.0) return std::numeric_limits<double>::infinity();
  if (signal <= 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / error);
}

}  // namespace

void QuantStats::add(const Tensor& x, const Tensor& x_hat, const QParams& q) {
  const Tensor cx = x.contiguous(), ch = x_hat.contiguous();
  const int64_t n = cx.numel();
  const int64_t channels = static_cast<int64_t>(q.channels());
  const int64_t inner = channels > 1 ? n / channels : n;
  const float* xp = cx.data();
  const float* hp = ch.data();
  for (int64_t i = 0; i < n; ++i) {
    const double half_step = 0.5 * q.scale[static_cast<size_t>(channels > 1 ? i / inner : 0)];
    const double x_i = xp[i], e = static_cast<double>(hp[i]) - x_i;
    signal += x_i * x_i;
    // A rounding error is at most half a step; a little slack absorbs the float error of x̂.
    if (std::fabs(e) <= half_step * (1.0 + 1e-5)) {
      rounding += e * e;
    } else {
      clipping += e * e;
      ++clamped;
    }
  }
  values += n;
  if (!track_codes) return;
  const Tensor codes = quantize_codes(cx, q);
  std::vector<int16_t> now(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    now[static_cast<size_t>(i)] = static_cast<int16_t>(codes.data()[i]);
  if (last_codes.size() == now.size()) {
    for (size_t i = 0; i < now.size(); ++i)
      step_flips += now[i] != last_codes[i];
  }
  if (epoch_start_codes.empty()) epoch_start_codes = now;
  last_codes = std::move(now);
}

void QuantStats::start_epoch() {
  const bool track = track_codes;
  std::vector<int16_t> last = std::move(last_codes);
  *this = QuantStats{};
  track_codes = track;
  epoch_start_codes = last;
  last_codes = std::move(last);
}

int64_t QuantStats::codes_changed() const {
  if (epoch_start_codes.size() != last_codes.size()) return 0;
  int64_t changed = 0;
  for (size_t i = 0; i < last_codes.size(); ++i)
    changed += last_codes[i] != epoch_start_codes[i];
  return changed;
}

double QuantStats::sqnr_db() const {
  return db(signal, rounding + clipping);
}
double QuantStats::rounding_sqnr_db() const {
  return db(signal, rounding);
}
double QuantStats::clipping_sqnr_db() const {
  return db(signal, clipping);
}

}  // namespace qg::quant
