// The building blocks of a quantization-aware model, after the tutorial's QModule classes.
//
// Every QAT layer wraps a float layer (sharing its parameters, so training the QAT model trains the
// float weights) and inserts FakeQuantize where the integer model will round:
//   * on the model input (only the first quantized layer has an input observer, `qi`),
//   * on every weight (`qw`), and
//   * on every conv/linear output (`qo`); later layers reuse the previous layer's output parameters.
// While `observing`, observers see each tensor before it is fake-quantized (QAT training and PTQ
// calibration). `freeze()` fixes the parameters; afterwards the model is exactly what convert() turns
// into integers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "quant/fake_quantize.h"
#include "quant/observer.h"

namespace qg::quant {

/// How to build the observers and fake-quantizers of a QAT model.
struct QuantSettings {
  QuantSpec activation;  // unsigned, asymmetric by default (the tutorial's)
  QuantSpec weight;
  ObserverKind activation_observer = ObserverKind::MinMax;
  bool per_channel_weights = false;
  float observer_momentum = 0.1f;
  double percentile = 99.99;
  Ste ste = Ste::Identity;
};

/// One observed quantization point (input, weight or output of a layer) with its frozen parameters.
class QuantPoint {
 public:
  QuantPoint(std::unique_ptr<Observer> observer, Ste ste) : observer_(std::move(observer)), ste_(ste) {}

  /// Observes x when `observing`, then fake-quantizes it with the current parameters.
  Tensor operator()(const Tensor& x, bool observing);
  /// For a conv/linear output on the accumulator grid (S_in S_w): observes y when `observing`, then
  /// requantizes it exactly as the integer model will (quant/output_requantize.h).
  Tensor requantize(const Tensor& y, float input_scale, const QParams& weight, bool observing);
  /// The frozen parameters if frozen, else the observer's current ones.
  QParams qparams() const;
  void freeze() { frozen_ = observer_->qparams(); }
  bool is_frozen() const { return frozen_.has_value(); }
  const Observer& observer() const { return *observer_; }
  /// What the observer has seen, for a training checkpoint (taken before freeze(), so no frozen parameters).
  ObserverState observer_state() const { return observer_->state(); }
  /// Restores observer_state(); throws std::invalid_argument when it comes from another kind of observer.
  void load_observer_state(const ObserverState& state) { observer_->load_state(state); }

 private:
  std::unique_ptr<Observer> observer_;
  Ste ste_;
  std::optional<QParams> frozen_;
};

/// A quantization point with its name inside its layer: "input", "weight" or "output".
using NamedQuantPoint = std::pair<std::string, QuantPoint*>;

/// A QAT layer. Pass-through layers (ReLU, max pool, flatten) have no quantization points.
class QatLayer : public nn::Module {
 public:
  /// This layer's own quantization points, in a fixed order (for saving and restoring observer state).
  virtual std::vector<NamedQuantPoint> quant_points() { return {}; }
  void set_observing(bool on) { observing_ = on; }
  bool observing() const { return observing_; }
  virtual void freeze() {}
  /// Parameters of this layer's output, if it produces a newly quantized tensor (conv, linear).
  virtual const QuantPoint* output_point() const { return nullptr; }
  /// Where this layer's input parameters come from when it does not quantize its input itself: the
  /// previous quantized layer's output (set by prepare_qat).
  void set_input_source(const QuantPoint* source) { input_source_ = source; }

 protected:
  /// The scale of this layer's (already quantized) input: its own input point's, else the source's.
  float input_scale(const std::optional<QuantPoint>& own_input) const;

  bool observing_ = false;
  const QuantPoint* input_source_ = nullptr;
};

}  // namespace qg::quant
