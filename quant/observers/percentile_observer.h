#pragma once

#include <vector>

#include "quant/observer.h"

namespace qg::quant {

/// Calibration observer that ignores outliers: keeps a uniform random sample (reservoir sampling,
/// Vitter's algorithm R) of up to `capacity` observed values over all batches, and sets the range to
/// the [100 - p, p] percentiles of that sample. Clipping the rare extreme activations buys a finer
/// scale for the bulk of them, which helps most at low bit widths.
class PercentileObserver : public Observer {
 public:
  PercentileObserver(QuantSpec spec, double percentile, size_t capacity = size_t{1} << 20, uint64_t seed = 0);
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  bool has_observed() const override { return seen_ > 0; }
  std::string type_name() const override { return "percentile"; }
  std::pair<float, float> range() const override;
  /// values = the sample; scalars: how many values were seen and the generator's state, so that the
  /// reservoir keeps drawing exactly as it would have.
  ObserverState state() const override;
  void load_state(const ObserverState& state) override;

 private:
  double percentile_;
  size_t capacity_;
  uint64_t seen_ = 0;
  std::vector<float> sample_;
  Generator gen_;
};

}  // namespace qg::quant
