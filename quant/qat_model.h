// A quantization-aware model built from a float nn::Sequential, the tutorial's `model.quantize()`.
//
// prepare_qat walks the float layers and pattern-matches:
//   conv2d [batchnorm2d] [relu]  ->  QConvBNReLU / QConvBN when a BN follows, else QConv2d (+ QReLU)
//   linear                        ->  QLinear
//   relu, maxpool2d, flatten      ->  pass-through;   avgpool2d -> QAvgPool2d
// The first conv/linear also fake-quantizes the model input. The QAT model shares the float model's
// parameters and buffers.
#pragma once

#include <memory>
#include <vector>

#include "nn/layers/sequential.h"
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
  void add(std::shared_ptr<QatLayer> layer);

 private:
  std::vector<std::shared_ptr<QatLayer>> layers_;
  bool frozen_ = false;
};

/// Builds the QAT model around `float_model` (whose layers it shares). Throws std::invalid_argument
/// naming the layer when the model cannot be quantized (e.g. no conv/linear at all).
std::shared_ptr<QatModel> prepare_qat(const nn::Sequential& float_model, const QuantSettings& settings);

}  // namespace qg::quant
