#include "quant/observers/percentile_observer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace qg::quant {

PercentileObserver::PercentileObserver(QuantSpec spec, double percentile, size_t capacity, uint64_t seed)
    : Observer(spec), percentile_(percentile), capacity_(capacity), gen_(seed) {
  if (!(percentile > 50.0 && percentile <= 100.0)) {
    throw std::invalid_argument("percentile observer: percentile must be in (50, 100], got " +
                                std::to_string(percentile));
  }
  if (capacity == 0) throw std::invalid_argument("percentile observer: capacity must be positive");
}

void PercentileObserver::observe(const Tensor& x) {
  const Tensor c = x.contiguous();
  const float* v = c.data();
  for (int64_t i = 0; i < c.numel(); ++i) {
    if (!std::isfinite(v[i])) {
      throw std::runtime_error("percentile observer: observed a non-finite value in a tensor of shape " +
                               to_string(x.shape()));
    }
    ++seen_;
    if (sample_.size() < capacity_) {
      sample_.push_back(v[i]);
    } else {
      const uint64_t j = gen_.below(seen_);  // keep each of the seen_ values with probability capacity/seen_
      if (j < capacity_) sample_[j] = v[i];
    }
  }
}

std::pair<float, float> PercentileObserver::range() const {
  if (sample_.empty()) return {0.0f, 0.0f};
  std::vector<float> sorted = sample_;
  std::sort(sorted.begin(), sorted.end());
  const auto at = [&](double p) {
    const double pos = p / 100.0 * static_cast<double>(sorted.size() - 1);
    return sorted[static_cast<size_t>(std::llround(pos))];
  };
  return {at(100.0 - percentile_), at(percentile_)};
}

QParams PercentileObserver::qparams() const {
  if (sample_.empty()) throw std::logic_error("percentile observer: qparams() requested before any tensor was observed");
  const auto [lo, hi] = range();
  return make_per_tensor(lo, hi, spec_);
}

}  // namespace qg::quant
