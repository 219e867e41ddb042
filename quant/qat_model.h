// A quantization-aware model built from a float nn::Graph, the tutorial's `model.quantize()`. Its layers form
// the same graph as the float layers they replace: a QAT layer reads the QAT layers that replaced the float
// layers its first float layer read.
//
// prepare_qat walks the float layers and turns each pattern of them into one QAT layer (PyTorch's fusion
// patterns with its float-to-QAT module mapping; the table is in qat_model.cpp, longer patterns first):
//   conv2d batchnorm2d [relu]  ->  QConvBNReLU / QConvBN       conv2d [relu]       ->  QConv2d
//   linear [relu]              ->  QLinear                      batchnorm2d [relu]  ->  QBatchNorm2d (mul_add)
//   avgpool2d                  ->  QAvgPool2d                   relu, maxpool2d, flatten -> QReLU, QMaxPool2d,
//                                                                                           QFlatten
// A pattern matches only along a chain inside the graph: each of its layers after the first reads the one
// before it, which no other layer reads (a BatchNorm whose conv output also feeds a shortcut is not folded).
// Each QAT layer makes itself from the matched float layers (its static from_float). A ReLU after a
// conv/linear/lone BatchNorm joins it (before its output quantizer: QConvReLU2d, QLinearReLU,
// QBatchNormReLU2d) only with QuantSettings::fuse_relu; after a conv + BatchNorm it always does. The first
// layer that needs a quantized input (a conv, linear, lone BatchNorm or average pool) also fake-quantizes the
// model input; ReLU, max pooling and flatten before it commute with quantization and run on the float input
// (quant/qat/passthrough.h). The QAT model shares the float model's parameters and buffers.
#pragma once

#include <memory>
#include <vector>

#include "nn/layers/graph.h"
#include "quant/qat/qat_layer.h"

namespace qg::quant {

class QatModel : public nn::Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "QatModel"; }

  /// Observers update on every forward while observing (QAT training, PTQ calibration).
  void set_observing(bool on);
  /// Fixes every quantization parameter (the tutorial's `freeze()`); observing stops.
  void freeze();
  bool is_frozen() const { return frozen_; }

  const std::vector<std::shared_ptr<QatLayer>>& layers() const { return layers_; }
  /// The QAT layers layer `i` reads (indices, or kModelInput), as nn::Graph::inputs.
  const std::vector<int64_t>& inputs(size_t i) const { return inputs_.at(i); }
  static constexpr int64_t kModelInput = -1;
  /// Appends `layer` reading `inputs` (earlier QAT layers or kModelInput; throws std::invalid_argument
  /// otherwise), or, without inputs, the layer before it.
  void add(std::shared_ptr<QatLayer> layer, std::vector<int64_t> inputs);
  void add(std::shared_ptr<QatLayer> layer);
  /// How many layers read layer `i`'s output (the last layer's output leaves the model: 1 more).
  int64_t reader_count(size_t i) const;

  /// The quantization points' own trained tensors (LSQ step sizes and zero points): the optimizer keeps
  /// them out of weight decay.
  std::vector<Tensor> quantizer_parameters();
  /// Freezes (or unfreezes) the BatchNorm statistics of every folded conv and lone BatchNorm
  /// (QatLayer::set_bn_frozen).
  void set_bn_frozen(bool frozen);

 private:
  std::vector<std::shared_ptr<QatLayer>> layers_;
  std::vector<std::vector<int64_t>> inputs_;
  bool frozen_ = false;
};

/// Builds the QAT model around `float_model` (whose layers it shares; a chain or a graph), with `per_layer[i]`
/// the settings of float layer i. The model input must be read by one layer only. Used are those of conv/linear layers, of lone BatchNorms (their method and output width)
/// and of the first layer that quantizes the model input (its method and input width); a fused BatchNorm
/// or ReLU follows its layer's. Throws std::invalid_argument when per_layer does not have one entry per
/// layer, or the model has no layer to quantize (only ReLU, max pooling and flatten) or a layer type that
/// has no quantized form.
std::shared_ptr<QatModel> prepare_qat(const nn::Graph& float_model,
                                      const std::vector<QuantSettings>& per_layer);
/// The same settings for every layer.
std::shared_ptr<QatModel> prepare_qat(const nn::Graph& float_model, const QuantSettings& settings);

}  // namespace qg::quant
