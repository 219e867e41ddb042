#include "quant/observers/minmax_observer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/kernels/reduce.h"
#include "core/kernels/views.h"

namespace qg::quant {

std::pair<float, float> tensor_min_max(const Tensor& x, const char* who) {
  if (x.numel() == 0) throw std::invalid_argument(std::string(who) + ": cannot observe an empty tensor");
  const Tensor flat = kernel::reshape(x, {-1});
  const float max = kernel::max(flat, 0).item();
  const float min = kernel::min(flat, 0).item();
  if (!std::isfinite(min) || !std::isfinite(max)) {
    throw std::runtime_error(std::string(who) + ": observed a non-finite value (NaN or Inf) in a tensor of shape " +
                             to_string(x.shape()));
  }
  return {min, max};
}

namespace {
QParams not_observed(const std::string& who) {
  throw std::logic_error(who + " observer: qparams() requested before any tensor was observed");
}
}  // namespace

void MinMaxObserver::observe(const Tensor& x) {
  const auto [lo, hi] = tensor_min_max(x, "minmax observer");
  min_ = observed_ ? std::min(min_, lo) : lo;
  max_ = observed_ ? std::max(max_, hi) : hi;
  observed_ = true;
}

QParams MinMaxObserver::qparams() const {
  if (!observed_) return not_observed(type_name());
  return make_per_tensor(min_, max_, spec_);
}

MovingAverageMinMaxObserver::MovingAverageMinMaxObserver(QuantSpec spec, float momentum)
    : Observer(spec), momentum_(momentum) {
  if (!(momentum > 0.0f && momentum <= 1.0f)) {
    throw std::invalid_argument("moving_average_minmax observer: momentum must be in (0, 1], got " +
                                std::to_string(momentum));
  }
}

void MovingAverageMinMaxObserver::observe(const Tensor& x) {
  const auto [lo, hi] = tensor_min_max(x, "moving_average_minmax observer");
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

void PerChannelMinMaxObserver::observe(const Tensor& x) {
  if (x.dim() < 1 || x.numel() == 0) {
    throw std::invalid_argument("per_channel_minmax observer: needs a non-empty tensor with a channel axis, got " +
                                to_string(x.shape()));
  }
  const int64_t channels = x.shape()[0];
  const Tensor rows = kernel::reshape(x, {channels, -1});
  const std::vector<float> maxs = kernel::max(rows, 1).to_vector();
  const std::vector<float> mins = kernel::min(rows, 1).to_vector();
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
      throw std::runtime_error("per_channel_minmax observer: observed a non-finite value in channel " +
                               std::to_string(c));
    }
  }
}

QParams PerChannelMinMaxObserver::qparams() const {
  if (mins_.empty()) return not_observed(type_name());
  return make_per_channel(mins_, maxs_, spec_, 0);
}

std::pair<float, float> PerChannelMinMaxObserver::range() const {
  if (mins_.empty()) return {0.0f, 0.0f};
  return {*std::min_element(mins_.begin(), mins_.end()), *std::max_element(maxs_.begin(), maxs_.end())};
}

}  // namespace qg::quant
