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
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "quant/qat_settings.h"
#include "quant/quant_point.h"

namespace qg::quant {

/// A quantization point with its name inside its layer: "input", "weight" or "output".
using NamedQuantPoint = std::pair<std::string, QuantPoint*>;

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
};

/// A conv or linear layer: an input point (first quantized layer only), a weight point and an output point,
/// and optionally a fused ReLU before the output point.
class QWeightedLayer : public QatLayer {
 public:
  const QuantPoint* output_point() const override { return output.get(); }
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
