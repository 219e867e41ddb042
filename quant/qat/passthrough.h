// QAT wrappers for layers that compute nothing new to quantize: ReLU, max pooling and flatten map
// quantized values to quantized values with the same scale and zero point (max and ReLU commute with
// the monotonic quantizer), so they simply run the float layer. Average pooling does create values
// between codes; QAvgPool2d re-quantizes its output with its input's parameters exactly as the integer
// average pool does: same scale in and out, the mean of (q - Z) rounded half away from zero.
#pragma once

#include "quant/qat/qat_layer.h"

namespace qg::quant {

class QPassThrough : public QatLayer {
 public:
  /// `kind` is "QReLU", "QMaxPool2d" or "QFlatten".
  QPassThrough(std::shared_ptr<nn::Module> layer, std::string kind);
  Tensor forward(const Tensor& input) override { return layer->forward(input); }
  std::string type_name() const override { return kind_; }
  std::string describe() const override { return kind_ + "(" + layer->describe() + ")"; }

  std::shared_ptr<nn::Module> layer;

 private:
  std::string kind_;
};

class QAvgPool2d : public QatLayer {
 public:
  /// `source` produces this layer's input (the previous quantized output); it must outlive this layer.
  QAvgPool2d(std::shared_ptr<nn::Module> pool, const QuantPoint* source);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "QAvgPool2d"; }
  std::string describe() const override { return "QAvgPool2d(" + pool->describe() + ")"; }

  std::shared_ptr<nn::Module> pool;
  const QuantPoint* source;

 private:
  int64_t window_area() const;
};

}  // namespace qg::quant
