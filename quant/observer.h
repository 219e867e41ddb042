// Observers watch the tensors that flow through a layer and turn what they saw into QParams.
// Calibration (PTQ) and QAT both feed them; freezing stops them.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/qparams.h"

namespace qg::quant {

/// Thrown while a fake-quant model runs when its grids can no longer be used: training reports it as a
/// divergence and says where it happened (app/training.h).
struct QuantizationDiverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Thrown by observe() when a tensor holds NaN or Inf: no range can be made of it.
struct NonFiniteObservation : QuantizationDiverged {
  using QuantizationDiverged::QuantizationDiverged;
};

/// What an observer remembers, so that a checkpoint can carry it and a resumed run continues exactly.
/// `scalars` holds counters and ranges (JSON keeps a float, and a 64-bit integer, exactly); `values` holds
/// bulk data (the percentile observer's sample, per-channel ranges) that belongs in a checkpoint tensor.
struct ObserverState {
  nlohmann::json scalars = nlohmann::json::object();
  std::vector<float> values;
};

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

  /// Everything observed so far, as plain data; scalars["type"] is type_name().
  virtual ObserverState state() const = 0;
  /// Restores what state() returned from an observer of the same type and options. Throws
  /// std::invalid_argument naming what does not fit; the observer is unchanged then.
  virtual void load_state(const ObserverState& state) = 0;

  const QuantSpec& spec() const { return spec_; }

 protected:
  /// Checks that `state` was saved by an observer of this type; throws std::invalid_argument otherwise.
  void check_state_type(const ObserverState& state) const;

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
