#pragma once

#include "quant/observer.h"

namespace qg::quant {

/// The tutorial's observer: running global minimum and maximum of everything seen (never shrinks).
class MinMaxObserver : public Observer {
 public:
  using Observer::Observer;
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  bool has_observed() const override { return observed_; }
  std::string type_name() const override { return "minmax"; }
  std::pair<float, float> range() const override { return {min_, max_}; }
  ObserverState state() const override;
  void load_state(const ObserverState& state) override;

 private:
  bool observed_ = false;
  float min_ = 0.0f, max_ = 0.0f;
};

/// Exponential moving average of each batch's min and max (PyTorch's MovingAverageMinMaxObserver):
/// the range can shrink again when activations settle.
class MovingAverageMinMaxObserver : public Observer {
 public:
  MovingAverageMinMaxObserver(QuantSpec spec, float momentum);
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  bool has_observed() const override { return observed_; }
  std::string type_name() const override { return "moving_average_minmax"; }
  std::pair<float, float> range() const override { return {min_, max_}; }
  ObserverState state() const override;
  void load_state(const ObserverState& state) override;

 private:
  float momentum_;
  bool observed_ = false;
  float min_ = 0.0f, max_ = 0.0f;
};

/// Per-output-channel running min/max of a weight [C, ...] (channel axis 0).
class PerChannelMinMaxObserver : public Observer {
 public:
  using Observer::Observer;
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  bool has_observed() const override { return !mins_.empty(); }
  std::string type_name() const override { return "per_channel_minmax"; }
  std::pair<float, float> range() const override;
  /// values = the channels' minima, then their maxima; scalars["channels"] = how many (0 before any observe).
  ObserverState state() const override;
  void load_state(const ObserverState& state) override;

 private:
  std::vector<float> mins_, maxs_;
};

/// Min and max of one tensor, as floats; throws std::invalid_argument on an empty tensor and
/// NonFiniteObservation on a non-finite one.
std::pair<float, float> tensor_min_max(const Tensor& x, const char* who);

}  // namespace qg::quant
