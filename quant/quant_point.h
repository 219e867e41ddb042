// QuantPoint: one place where a QAT layer rounds a tensor onto an integer grid — its input (first layer
// only), its weight, or its output. It plays the part of the tutorial's QParam: it knows the grid (S, Z) and
// fake-quantizes tensors with it. How the grid is found is what distinguishes the QAT methods:
//
//   ObservedPoint  (points/observed_point.h)  an observer watches the tensors (min/max, moving average,
//                                             percentile) and the grid follows it; STE backward (tutorial,
//                                             ema)
//   LearnedPoint   (points/learned_point.h)   the step size (and zero point) are trained by gradient
//                                             descent, LSQ / LSQ+ (lsq, binary's activations)
//   BinaryPoint    (points/binary_point.h)    weights {−α, +α} per output channel, XNOR-Net (binary)
//
// After freeze() the grid is fixed: the model is then exactly what convert() turns into integers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "quant/observer.h"
#include "quant/quant_stats.h"

namespace qg::quant {

class QuantPoint {
 public:
  virtual ~QuantPoint() = default;

  /// Fake-quantizes x. While `observing`, an observer sees x first; a learned point initialises its step
  /// size from the first x it sees, whether observing or not.
  virtual Tensor operator()(const Tensor& x, bool observing) = 0;
  /// For a conv/linear output y on the accumulator grid S_in · S_w (quant/output_requantize.h): requantizes
  /// it exactly as the integer model will.
  virtual Tensor requantize(const Tensor& y, float input_scale, const QParams& weight, bool observing) = 0;
  /// The frozen parameters if frozen, else the current ones. Throws std::logic_error before the point has
  /// seen anything to derive them from.
  virtual QParams qparams() const = 0;
  virtual void freeze() = 0;
  virtual bool is_frozen() const = 0;
  /// "minmax", "moving_average_minmax", "per_channel_minmax", "percentile", "lsq", "lsq+" or "binary".
  virtual std::string kind() const = 0;
  /// True when values outside the grid's range get no gradient (a clipped STE, LSQ).
  virtual bool clips_gradient() const = 0;

  /// What a training checkpoint must carry besides the parameters() (the observer's range, whether a
  /// learned step size was initialised); scalars["type"] is kind().
  virtual ObserverState state() const = 0;
  /// Restores state() from a point of the same kind; throws std::invalid_argument naming what does not fit.
  virtual void load_state(const ObserverState& state) = 0;
  /// The point's own trained tensors by name (LSQ: "scale", "zero_point"); the owning layer registers them
  /// as its parameters, so optimizers train them and checkpoints save them.
  virtual nn::NamedTensors parameters() const { return {}; }

  /// Inspection (train_qat --inspect): while on, every forward adds its error statistics to stats().
  void set_inspecting(bool on, bool track_codes);
  const std::optional<QuantStats>& stats() const { return stats_; }
  std::optional<QuantStats>& stats() { return stats_; }

 protected:
  /// Adds (x, x̂) to the statistics when inspecting; returns x̂.
  Tensor record(const Tensor& x, Tensor x_hat) const;

 private:
  mutable std::optional<QuantStats> stats_;
};

using QuantPointPtr = std::unique_ptr<QuantPoint>;

}  // namespace qg::quant
