#include "quant/observers/histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace qg::quant {

Histogram::Histogram(int64_t bins) {
  if (bins < 1) throw std::invalid_argument("histogram: needs at least one bin, got " + std::to_string(bins));
  counts_.assign(static_cast<size_t>(bins), 0);
  mins_.assign(static_cast<size_t>(bins), 0.0f);
  maxs_.assign(static_cast<size_t>(bins), 0.0f);
}

int64_t Histogram::bin_of(float v) const {
  if (width_ == 0.0) return 0;
  const double at = std::floor((static_cast<double>(v) - low_) / width_);
  return static_cast<int64_t>(std::clamp(at, 0.0, static_cast<double>(bins() - 1)));
}

void Histogram::cover(float min, float max) {
  const double b = static_cast<double>(bins());
  if (total_ == 0) {
    low_ = min;
    width_ = (static_cast<double>(max) - min) / b;
    return;
  }
  if (width_ == 0.0) {  // every value so far equals low_: they move, exactly, to the bin of their value
    if (min == low_ && max == low_) return;
    const float value = static_cast<float>(low_);
    const uint64_t n = counts_[0];
    counts_[0] = 0;
    low_ = std::min<double>(low_, min);
    width_ = (std::max<double>(value, max) - low_) / b;
    const int64_t i = bin_of(value);
    counts_[static_cast<size_t>(i)] = n;
    mins_[static_cast<size_t>(i)] = maxs_[static_cast<size_t>(i)] = value;
    return;
  }
  const double high = low_ + b * width_;
  if (min >= low_ && max <= high) return;
  // m old bins added below, new bins k old bins wide: old bin i lies whole in new bin (i + m) / k.
  const double m = min < low_ ? std::ceil((low_ - min) / width_) : 0.0;
  const double new_low = low_ - m * width_;
  const double k =
      std::max({1.0, std::ceil((static_cast<double>(max) - new_low) / (b * width_)), std::ceil((m + b) / b)});
  std::vector<uint64_t> counts(counts_.size(), 0);
  std::vector<float> mins(counts_.size(), 0.0f), maxs(counts_.size(), 0.0f);
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const auto j = static_cast<size_t>(std::min(std::floor((static_cast<double>(i) + m) / k), b - 1));
    mins[j] = counts[j] == 0 ? mins_[i] : std::min(mins[j], mins_[i]);
    maxs[j] = counts[j] == 0 ? maxs_[i] : std::max(maxs[j], maxs_[i]);
    counts[j] += counts_[i];
  }
  counts_ = std::move(counts);
  mins_ = std::move(mins);
  maxs_ = std::move(maxs);
  low_ = new_low;
  width_ *= k;
}

void Histogram::add(const Tensor& x, float min, float max) {
  if (x.numel() == 0) return;
  cover(min, max);
  const Tensor c = x.contiguous();
  const float* v = c.data();
  uint64_t* counts = counts_.data();
  float* mins = mins_.data();
  float* maxs = maxs_.data();
  for (int64_t i = 0; i < c.numel(); ++i) {
    const auto bin = static_cast<size_t>(bin_of(v[i]));
    if (counts[bin]++ == 0) {
      mins[bin] = maxs[bin] = v[i];
    } else {
      mins[bin] = std::min(mins[bin], v[i]);
      maxs[bin] = std::max(maxs[bin], v[i]);
    }
  }
  total_ += static_cast<uint64_t>(c.numel());
}

float Histogram::value_at_rank(uint64_t rank) const {
  if (rank >= total_)
    throw std::out_of_range("histogram: rank " + std::to_string(rank) + " of " + std::to_string(total_) +
                            " values");
  uint64_t below = 0;  // values in the bins before
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (rank >= below + counts_[i]) {
      below += counts_[i];
      continue;
    }
    if (counts_[i] == 1) return mins_[i];
    // The bin's values, assumed evenly spread between its extremes: the first is its min, the last its max.
    const double t = static_cast<double>(rank - below) / static_cast<double>(counts_[i] - 1);
    return static_cast<float>(mins_[i] + t * (static_cast<double>(maxs_[i]) - mins_[i]));
  }
  return maxs_.back();  // not reached: the counts sum to total_
}

Histogram::State Histogram::state() const {
  return {low_, width_, counts_, mins_, maxs_};
}

void Histogram::load(const State& s, const std::string& who) {
  const size_t n = counts_.size();
  if (s.counts.size() != n || s.mins.size() != n || s.maxs.size() != n) {
    throw std::invalid_argument(who + ": expected " + std::to_string(n) +
                                " bins with a count, a min and a max, " + "found " +
                                std::to_string(s.counts.size()) + ", " + std::to_string(s.mins.size()) +
                                " and " + std::to_string(s.maxs.size()));
  }
  if (!std::isfinite(s.low) || !std::isfinite(s.width) || s.width < 0.0) {
    throw std::invalid_argument(who +
                                ": the bins' low edge and width must be finite, the width non-negative");
  }
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s.counts[i] == 0) continue;
    if (!std::isfinite(s.mins[i]) || !std::isfinite(s.maxs[i]) || s.mins[i] > s.maxs[i]) {
      throw std::invalid_argument(who + ": bin " + std::to_string(i) + " has no finite [min, max]");
    }
    if (s.width == 0.0 && i > 0)
      throw std::invalid_argument(who + ": a histogram of width 0 has one bin in use");
    if (__builtin_add_overflow(total, s.counts[i], &total))
      throw std::invalid_argument(who + ": the counts overflow 64 bits");
  }
  low_ = s.low;
  width_ = s.width;
  counts_ = s.counts;
  mins_ = s.mins;
  maxs_ = s.maxs;
  total_ = total;
}

}  // namespace qg::quant
