// The building blocks of a quantization-aware model, after the tutorial's QModule classes.
//
// Every QAT layer wraps a float layer (sharing its parameters, so training the QAT model trains the
// float weights) and inserts fake quantization where the integer model will round:
//   * on the model input: an input point on the first layer that needs a quantized input (a conv, linear,
//     average pool or lone BatchNorm; ReLU, max pooling and flatten before it commute with quantization
//     and run on the float input),
//   * on every weight, and
//   * on every conv/linear/BatchNorm output; later layers reuse the previous layer's output parameters.
// How each point finds its grid (an observer, a learned step size, binary signs) is the method's business
// (quant/quant_point.h); the layers only say where the points are. `freeze()` fixes every grid; afterwards
// the model is exactly what convert() turns into integers.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "quant/qat_settings.h"
#include "quant/quant_point.h"
#include "runtime/model.h"

namespace qg::quant {

/// A quantization point with its name inside its layer: "input", "weight" or "output".
using NamedQuantPoint = std::pair<std::string, QuantPoint*>;

/// What a QAT layer's from_float is given by prepare_qat (quant/qat_model.h): the float layers one of its
/// patterns matched (e.g. conv2d, batchnorm2d, relu), the settings of the first, and the quantization of the
/// tensor flowing in (null while the model input is still float: the layer then quantizes it, if it needs
/// quantized values). The QAT layer shares the float layers' parameters.
struct PrepareStep {
  std::span<const std::shared_ptr<nn::Module>> layers;
  const QuantSettings& settings;
  const QuantPoint* flowing = nullptr;
  /// For a layer that reads several tensors (add, concat): the quantization of each, in order (flowing is
  /// the first's).
  std::span<const QuantPoint* const> sources = {};

  /// The i-th matched layer as its nn type (the pattern guarantees the type).
  template <class T>
  std::shared_ptr<T> layer(size_t i) const {
    return std::dynamic_pointer_cast<T>(layers[i]);
  }
};

/// Output codes [min, max]: the clamp an activation (ReLU, ReLU6) is on codes.
struct ClampCodes {
  int32_t min = 0;
  int32_t max = 0;
};

/// What a QAT layer's convert() is given by quant::convert (quant/convert.h).
struct ConvertStep {
  runtime::Model& model;       ///< the integer model so far: the layer appends its op(s) with emit()
  runtime::QuantParams input;  ///< the quantization of the (first) activation flowing into the layer
  /// The clamp of the activation right after the layer, which the layer's output stage takes over (only
  /// offered to layers with has_output_stage()); convert() then skips that activation.
  std::optional<ClampCodes> fused_clamp;
  std::string name;  ///< "layer 3 (QConv2d(...))": for messages
  /// The model values the layer reads (runtime::Model's value indices) and their quantization and (first)
  /// shape; empty values: the model's last value.
  std::vector<int64_t> input_values = {};
  std::vector<runtime::QuantParams> inputs = {};
  std::vector<int64_t> input_shape = {};
  bool emitted = false;  ///< whether emit() has appended an op

  /// Appends `op` to the model: the layer's first op reads input_values, a further one the op before it.
  void emit(runtime::Op op);
};

/// A tensor with the values of `exact` and the gradient of `y_hat` (y_hat + (exact - y_hat), the difference
/// not recorded): how a layer whose integer form rounds differently from its fake quantizer (add, concat)
/// runs exactly as the integer model while training through its output point.
Tensor straight_through(const Tensor& y_hat, const Tensor& exact);

/// A QAT layer. Pass-through layers (ReLU, max pool, flatten) have no quantization points.
class QatLayer : public nn::Module {
 public:
  /// This layer's own quantization points, in a fixed order (for saving and restoring their state): its
  /// input point, if it has one, then those of the subclass (weighted_points()).
  std::vector<NamedQuantPoint> quant_points();
  void set_observing(bool on) { observing_ = on; }
  bool observing() const { return observing_; }
  /// Fixes the grid of every quantization point.
  void freeze();
  /// Parameters of this layer's output, if it produces a newly quantized tensor (conv, linear, BatchNorm).
  virtual const QuantPoint* output_point() const { return nullptr; }
  /// Where this layer's input parameters come from when it does not quantize its input itself: the
  /// previous quantized layer's output (set by prepare_qat).
  void set_input_source(const QuantPoint* source) { input_source_ = source; }
  /// The quantization of this layer's input: its own input point's, else its source's. Throws
  /// std::logic_error when it has neither.
  const QuantPoint& input_params() const;

  /// Appends this frozen layer's integer op(s) (runtime/op.h) to step.model: the layer's integer form, its
  /// PyTorch `convert`. Throws std::invalid_argument naming step.name when the runtime cannot hold it.
  virtual void convert(ConvertStep& step) const = 0;
  /// True when the layer's integer form ends in an OutputStage (conv, linear, a lone BatchNorm as mul_add),
  /// which can take over the clamp of an activation right after it (ConvertStep::fused_clamp).
  virtual bool has_output_stage() const { return false; }
  /// For an activation that is a clamp on codes of quantization `q` (ReLU: [Z, qmax], ReLU6: [Z, the code
  /// of 6]): that clamp; nullopt for other layers.
  virtual std::optional<ClampCodes> clamp_codes(const runtime::QuantParams& q) const {
    (void)q;
    return std::nullopt;
  }
  /// Freezes (or unfreezes) the BatchNorm statistics of a layer that has them (QConvBNReLU, QBatchNorm2d).
  virtual void set_bn_frozen(bool frozen) { (void)frozen; }

  /// The index of the first float layer (the config's /layers/N) this layer was made from, set by
  /// prepare_qat: the number that messages, reports and the inspection give the layer, so that a conv with a
  /// fused BatchNorm and ReLU is "layer 0" and the linear after it keeps its config number.
  size_t source_layer() const { return source_layer_; }
  void set_source_layer(size_t index) { source_layer_ = index; }

  /// The model input's point: only on the first layer that needs a quantized input (prepare_qat), which
  /// fake-quantizes the model input with it; convert() quantizes the integer model's input with it.
  QuantPointPtr input;

 protected:
  /// The points after "input" (e.g. "weight", "output").
  virtual std::vector<NamedQuantPoint> own_points() { return {}; }
  /// Registers the points' learned tensors (LSQ step sizes) as this layer's parameters "input_quant.scale",
  /// "weight_quant.scale", "output_quant.zero_point", ...; call after registering the wrapped modules.
  void register_point_parameters();
  /// x, fake-quantized when this layer quantizes the model input.
  Tensor quantize_input(const Tensor& x);
  /// The scale of this layer's (already quantized) input.
  float input_scale() const { return input_params().qparams().scale[0]; }

  bool observing_ = false;
  const QuantPoint* input_source_ = nullptr;
  size_t source_layer_ = 0;
};

/// A conv or linear layer: an input point (first quantized layer only), a weight point and an output point,
/// and optionally a fused ReLU before the output point.
class QWeightedLayer : public QatLayer {
 public:
  const QuantPoint* output_point() const override { return output.get(); }
  bool has_output_stage() const override { return true; }
  /// True when a ReLU is applied before the output point (and fused into the integer clamp).
  bool fused_relu() const { return relu_; }

  QuantPointPtr weight;
  QuantPointPtr output;

 protected:
  QWeightedLayer(const QuantSettings& settings, bool quantize_input, int64_t out_channels, bool relu);
  std::vector<NamedQuantPoint> own_points() override;
  /// The fake-quantized weight and its parameters (the parameters are read after the point has seen w).
  std::pair<Tensor, QParams> quantize_weight(const Tensor& w);
  /// The output stage for y on the accumulator grid S_in · S_w: ReLU (when fused), then requantization.
  Tensor quantize_output(Tensor y, float input_scale, const QParams& weight_qparams);

 private:
  bool relu_;
};

}  // namespace qg::quant
