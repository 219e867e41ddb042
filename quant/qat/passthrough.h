// QAT wrappers for layers that compute nothing new to quantize: ReLU, max pooling and flatten map
// quantized values to quantized values with the same scale and zero point (max and ReLU commute with
// the monotonic quantizer), so they simply run the float layer. Before the first layer that quantizes the
// model input they run on the float input, which is the same: the quantizer is monotonic and maps 0 to 0,
// so FQ(max(x, y)) = max(FQ(x), FQ(y)) and FQ(relu(x)) = relu(FQ(x)).
//
// Average pooling does create values between codes; QAvgPool2d re-quantizes its output with its input's
// parameters exactly as the integer average pool does: same scale in and out, the mean of (q - Z) rounded
// half away from zero. It needs a quantized input: as the first such layer it quantizes the model input.
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
  /// `source` produces this layer's input (the previous quantized output); it must outlive this layer. Or,
  /// when no layer before quantizes the model input, `input` (source null): the point that does.
  QAvgPool2d(std::shared_ptr<nn::Module> pool, const QuantPoint* source, QuantPointPtr input = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "QAvgPool2d"; }
  std::string describe() const override { return "QAvgPool2d(" + pool->describe() + ")"; }

  std::shared_ptr<nn::Module> pool;

 private:
  int64_t window_area() const;
};

}  // namespace qg::quant
