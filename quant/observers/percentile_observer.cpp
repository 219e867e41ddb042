#include "quant/observers/percentile_observer.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "quant/observers/observer_state.h"

namespace qg::quant {

PercentileObserver::PercentileObserver(QuantSpec spec, double percentile, size_t capacity, uint64_t seed)
    : Observer(spec), percentile_(percentile), capacity_(capacity), gen_(seed) {
  // The config loader checks the same range with the JSON path (config/settings_reader.cpp), so a tool
  // never gets here with a bad value; this guards callers in code.
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
      throw NonFiniteObservation("percentile observer: observed a non-finite value in a tensor of shape " +
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

ObserverState PercentileObserver::state() const {
  std::ostringstream engine;
  Generator copy = gen_;    // engine() is not const; a copy has the same state
  engine << copy.engine();  // the standard text form of a mersenne twister's state
  ObserverState state;
  state.scalars = {{"type", type_name()},
                   {"seen", seen_},
                   {"percentile", percentile_},
                   {"capacity", static_cast<uint64_t>(capacity_)},
                   {"generator", engine.str()}};
  state.values = sample_;
  return state;
}

void PercentileObserver::load_state(const ObserverState& state) {
  check_state_type(state);
  const std::string who = type_name();
  const uint64_t seen = state_uint(state, "seen", who);
  const uint64_t capacity = state_uint(state, "capacity", who);
  if (capacity != capacity_ || state_double(state, "percentile", who) != percentile_) {
    throw std::invalid_argument(who + " observer state: saved with another percentile or sample capacity");
  }
  if (state.values.size() != std::min<uint64_t>(seen, capacity_)) {
    throw std::invalid_argument(who + " observer state: " + std::to_string(seen) +
                                " values seen should leave a " + "sample of " +
                                std::to_string(std::min<uint64_t>(seen, capacity_)) + ", found " +
                                std::to_string(state.values.size()));
  }
  for (const float v : state.values) {
    if (!std::isfinite(v))
      throw std::invalid_argument(who + " observer state: the sample holds a non-finite value");
  }
  std::istringstream engine_text(state_string(state, "generator", who));
  Generator gen;
  engine_text >> gen.engine();
  if (!engine_text)
    throw std::invalid_argument(who + " observer state: \"generator\" is not a generator state");
  seen_ = seen;
  sample_ = state.values;
  gen_ = gen;
}

QParams PercentileObserver::qparams() const {
  if (sample_.empty())
    throw std::logic_error("percentile observer: qparams() requested before any tensor was observed");
  const auto [lo, hi] = range();
  return make_per_tensor(lo, hi, spec_);
}

}  // namespace qg::quant
