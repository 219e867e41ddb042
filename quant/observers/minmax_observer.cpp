#include "quant/observers/minmax_observer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/kernels/reduce.h"
#include "core/kernels/value_range.h"
#include "core/kernels/views.h"
#include "quant/observers/observer_state.h"
#include "quant/statistics_sync.h"

namespace qg::quant {

std::pair<float, float> tensor_min_max(const Tensor& x, const char* who) {
  if (x.numel() == 0) throw std::invalid_argument(std::string(who) + ": cannot observe an empty tensor");
  const kernel::ValueRange range = kernel::value_range(x);
  if (!range.all_finite) {
    throw NonFiniteObservation(std::string(who) +
                               ": observed a non-finite value (NaN or Inf) in a tensor of shape " +
                               to_string(x.shape()));
  }
  return {range.min, range.max};
}

namespace {
QParams not_observed(const std::string& who) {
  throw std::logic_error(who + " observer: qparams() requested before any tensor was observed");
}
}  // namespace

namespace {

// The min and max of the global batch: of x, reduced over the processes of a data-parallel run
// (quant/statistics_sync.h; a single process keeps its own).
std::pair<float, float> batch_min_max(const Tensor& x, const char* who) {
  auto [lo, hi] = tensor_min_max(x, who);
  sync_min(std::span(&lo, 1));
  sync_max(std::span(&hi, 1));
  return {lo, hi};
}

// The state of an observer that keeps one running [min, max].
ObserverState range_state(const std::string& type, bool observed, float min, float max) {
  ObserverState state;
  state.scalars = {{"type", type}, {"observed", observed}, {"min", min}, {"max", max}};
  return state;
}

struct RangeState {
  bool observed;
  float min, max;
};

RangeState read_range_state(const ObserverState& state, const std::string& who) {
  const RangeState r{state_bool(state, "observed", who), state_float(state, "min", who),
                     state_float(state, "max", who)};
  if (r.observed && r.min > r.max) {
    throw std::invalid_argument(who + " observer state: min " + std::to_string(r.min) + " is above max " +
                                std::to_string(r.max));
  }
  return r;
}

}  // namespace

void MinMaxObserver::observe(const Tensor& x) {
  const auto [lo, hi] = batch_min_max(x, "minmax observer");
  min_ = observed_ ? std::min(min_, lo) : lo;
  max_ = observed_ ? std::max(max_, hi) : hi;
  observed_ = true;
}

QParams MinMaxObserver::qparams() const {
  if (!observed_) return not_observed(type_name());
  return make_per_tensor(min_, max_, spec_);
}

ObserverState MinMaxObserver::state() const {
  return range_state(type_name(), observed_, min_, max_);
}

void MinMaxObserver::load_state(const ObserverState& state) {
  check_state_type(state);
  const RangeState r = read_range_state(state, type_name());
  observed_ = r.observed;
  min_ = r.min;
  max_ = r.max;
}

MovingAverageMinMaxObserver::MovingAverageMinMaxObserver(QuantSpec spec, float momentum)
    : Observer(spec), momentum_(momentum) {
  if (!(momentum > 0.0f && momentum <= 1.0f)) {
    throw std::invalid_argument("moving_average_minmax observer: momentum must be in (0, 1], got " +
                                std::to_string(momentum));
  }
}

void MovingAverageMinMaxObserver::observe(const Tensor& x) {
  const auto [lo, hi] = batch_min_max(x, "moving_average_minmax observer");
  if (!observed_) {
    min_ = lo;
    max_ = hi;
    observed_ = true;
    return;
  }
  min_ = (1.0f - momentum_) * min_ + momentum_ * lo;
  max_ = (1.0f - momentum_) * max_ + momentum_ * hi;
}

QParams MovingAverageMinMaxObserver::qparams() const {
  if (!observed_) return not_observed(type_name());
  return make_per_tensor(min_, max_, spec_);
}

ObserverState MovingAverageMinMaxObserver::state() const {
  ObserverState state = range_state(type_name(), observed_, min_, max_);
  state.scalars["momentum"] = momentum_;
  return state;
}

void MovingAverageMinMaxObserver::load_state(const ObserverState& state) {
  check_state_type(state);
  const RangeState r = read_range_state(state, type_name());
  // The momentum is an option, not state; a different one would make the resumed run diverge silently.
  const float momentum = state_float(state, "momentum", type_name());
  if (momentum != momentum_) {
    throw std::invalid_argument(type_name() + " observer state: saved with momentum " +
                                std::to_string(momentum) + ", but this observer uses " +
                                std::to_string(momentum_));
  }
  observed_ = r.observed;
  min_ = r.min;
  max_ = r.max;
}

void PerChannelMinMaxObserver::observe(const Tensor& x) {
  if (x.dim() < 1 || x.numel() == 0) {
    throw std::invalid_argument(
        "per_channel_minmax observer: needs a non-empty tensor with a channel axis, got " +
        to_string(x.shape()));
  }
  const int64_t channels = x.shape()[0];
  const Tensor rows = kernel::reshape(x, {channels, -1});
  std::vector<float> maxs = kernel::max(rows, 1).to_vector();
  std::vector<float> mins = kernel::min(rows, 1).to_vector();
  if (!kernel::value_range(x).all_finite) {
    throw NonFiniteObservation(
        "per_channel_minmax observer: observed a non-finite value (NaN or Inf) in a tensor of shape " +
        to_string(x.shape()));
  }
  sync_min(mins);  // over the processes of a data-parallel run
  sync_max(maxs);
  if (!mins_.empty() && mins_.size() != static_cast<size_t>(channels)) {
    throw std::invalid_argument("per_channel_minmax observer: saw " + std::to_string(mins_.size()) +
                                " channels before, now " + std::to_string(channels));
  }
  if (mins_.empty()) {
    mins_ = mins;
    maxs_ = maxs;
  } else {
    for (int64_t c = 0; c < channels; ++c) {
      mins_[c] = std::min(mins_[c], mins[c]);
      maxs_[c] = std::max(maxs_[c], maxs[c]);
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (!std::isfinite(mins_[c]) || !std::isfinite(maxs_[c])) {
      throw NonFiniteObservation("per_channel_minmax observer: observed a non-finite value in channel " +
                                 std::to_string(c));
    }
  }
}

QParams PerChannelMinMaxObserver::qparams() const {
  if (mins_.empty()) return not_observed(type_name());
  return make_per_channel(mins_, maxs_, spec_, 0);
}

ObserverState PerChannelMinMaxObserver::state() const {
  ObserverState state;
  state.scalars = {{"type", type_name()}, {"channels", static_cast<uint64_t>(mins_.size())}};
  state.values = mins_;
  state.values.insert(state.values.end(), maxs_.begin(), maxs_.end());
  return state;
}

void PerChannelMinMaxObserver::load_state(const ObserverState& state) {
  check_state_type(state);
  const uint64_t channels = state_uint(state, "channels", type_name());
  if (state.values.size() != 2 * channels) {
    throw std::invalid_argument(type_name() + " observer state: " + std::to_string(channels) +
                                " channels need " + std::to_string(2 * channels) + " values, found " +
                                std::to_string(state.values.size()));
  }
  std::vector<float> mins(state.values.begin(), state.values.begin() + static_cast<std::ptrdiff_t>(channels));
  std::vector<float> maxs(state.values.begin() + static_cast<std::ptrdiff_t>(channels), state.values.end());
  for (uint64_t c = 0; c < channels; ++c) {
    if (!std::isfinite(mins[c]) || !std::isfinite(maxs[c]) || mins[c] > maxs[c]) {
      throw std::invalid_argument(type_name() + " observer state: channel " + std::to_string(c) +
                                  " has no valid range [" + std::to_string(mins[c]) + ", " +
                                  std::to_string(maxs[c]) + "]");
    }
  }
  mins_ = std::move(mins);
  maxs_ = std::move(maxs);
}

std::pair<float, float> PerChannelMinMaxObserver::range() const {
  if (mins_.empty()) return {0.0f, 0.0f};
  return {*std::min_element(mins_.begin(), mins_.end()), *std::max_element(maxs_.begin(), maxs_.end())};
}

}  // namespace qg::quant
