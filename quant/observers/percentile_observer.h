#pragma once

#include <optional>
#include <utility>

#include "quant/observer.h"
#include "quant/observers/histogram.h"

namespace qg::quant {

/// Calibration observer that ignores outliers: sets the range to the [100 - p, p] percentiles of every
/// value observed, read from a fixed-size histogram of them (quant/observers/histogram.h, as PyTorch's
/// HistogramObserver keeps one). Clipping the rare extreme activations buys a finer scale for the bulk of
/// them, which helps most at low bit widths. The config's observer "histogram" is this observer.
///
/// Cost: observing is a min/max pass and a binning pass over the tensor; the range is computed from the
/// bins only when it is read after an observation (a walk over the bins), and kept until the next one.
class PercentileObserver : public Observer {
 public:
  static constexpr int64_t kDefaultBins = 2048;  // PyTorch's HistogramObserver default

  PercentileObserver(QuantSpec spec, double percentile, int64_t bins = kDefaultBins);
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  bool has_observed() const override { return histogram_.count() > 0; }
  std::string type_name() const override { return "percentile"; }
  std::pair<float, float> range() const override;
  /// scalars: the percentile, the bins' edges, the bins in use and their counts, how many values were
  /// seen; values: the smallest value of each bin in use, then the largest.
  ObserverState state() const override;
  void load_state(const ObserverState& state) override;

 private:
  double percentile_;
  Histogram histogram_;
  mutable std::optional<std::pair<float, float>> range_;  // cached until the next observation
};

}  // namespace qg::quant
