// Observers watch the tensors that flow through a layer and turn what they saw into QParams.
// Calibration (PTQ) and QAT both feed them; freezing stops them.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "quant/qparams.h"

namespace qg::quant {

class Observer {
 public:
  explicit Observer(QuantSpec spec) : spec_(spec) { spec_.validate(); }
  virtual ~Observer() = default;

  /// Records the range (or distribution) of x.
  virtual void observe(const Tensor& x) = 0;
  /// Parameters from everything observed so far. Throws if nothing has been observed.
  virtual QParams qparams() const = 0;
  virtual bool has_observed() const = 0;
  virtual std::string type_name() const = 0;
  /// The observed range [min, max] (the widest of all channels for per-channel observers), for reports.
  virtual std::pair<float, float> range() const = 0;

  const QuantSpec& spec() const { return spec_; }

 protected:
  QuantSpec spec_;
};

enum class ObserverKind { MinMax, MovingAverageMinMax, PerChannelMinMax, Percentile };

struct ObserverOptions {
  ObserverKind kind = ObserverKind::MinMax;
  QuantSpec spec;
  float momentum = 0.1f;      // MovingAverageMinMax: new = (1 - momentum) * old + momentum * batch
  double percentile = 99.99;  // Percentile: keep [p_low, p_high] with p_low = 100 - percentile
};

std::unique_ptr<Observer> make_observer(const ObserverOptions& options);
/// "minmax", "moving_average_minmax", "per_channel_minmax", "percentile" (also "histogram" as an alias).
ObserverKind parse_observer_kind(const std::string& name);

}  // namespace qg::quant
