// A fixed-size histogram of every value an observer has seen, as PyTorch's HistogramObserver keeps, from
// which the percentile observer reads its range (issue 10, item 9: it used to copy and sort a sample of up
// to 2^20 values every time its range was read, i.e. at every training step).
//
// B bins of equal width w cover [low, low + B w). Each bin keeps its count and the exact smallest and
// largest value that fell in it, so a percentile is exact whenever its bin holds one distinct value, and
// otherwise interpolated between two values that were really seen: the error is below one bin's spread.
//
// When new values fall outside, the range grows to cover them without re-binning approximately: the new
// bins are k old bins wide (an integer k) and start m old bins lower (an integer m), so old bin i lies
// whole in new bin (i + m) / k. Observing costs one min/max pass (kernel::value_range, which also
// refuses NaN and Inf) and one pass that bins; reading a percentile walks the B bins.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace qg::quant {

class Histogram {
 public:
  explicit Histogram(int64_t bins);

  /// Adds every value of `x`, whose smallest and largest values are `min` and `max` (finite).
  void add(const Tensor& x, float min, float max);
  /// The value of 0-based rank `rank` (< count()) among all values added, in ascending order: exact for
  /// the smallest and the largest, else interpolated within its bin between the bin's extremes.
  float value_at_rank(uint64_t rank) const;

  uint64_t count() const { return total_; }
  int64_t bins() const { return static_cast<int64_t>(counts_.size()); }

  /// Everything it holds, for checkpoints: the edges (low, width), and per bin the count, smallest and
  /// largest value (0 for an empty bin).
  struct State {
    double low = 0.0, width = 0.0;
    std::vector<uint64_t> counts;
    std::vector<float> mins, maxs;
  };
  State state() const;
  /// Restores state() of a histogram with as many bins; throws std::invalid_argument (starting with
  /// `who`) on a malformed state, leaving this histogram as it was.
  void load(const State& state, const std::string& who);

 private:
  // Grows [low, low + B width) to cover [min, max], merging old bins whole into the new ones.
  void cover(float min, float max);
  int64_t bin_of(float v) const;

  double low_ = 0.0, width_ = 0.0;  // width 0: every value seen so far equals low_ (all in bin 0)
  std::vector<uint64_t> counts_;
  std::vector<float> mins_, maxs_;
  uint64_t total_ = 0;
};

}  // namespace qg::quant
