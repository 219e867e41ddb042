#pragma once

#include "nn/layers/conv2d.h"
#include "quant/qat/qat_layer.h"

namespace qg::quant {

/// The tutorial's QConv2d: y = FQ_out(conv2d(FQ_in(x), FQ_w(W), FQ_b(b))), with an optional fused ReLU
/// before FQ_out (`relu`). Unlike the tutorial, the bias is fake-quantized too, to the int32 grid at scale
/// s_in * s_w that the integer model uses (fake_quantize_bias), and the output quantizer rounds the
/// accumulator exactly as the integer model's fixed-point requantization does (output_requantize.h), so
/// that the two compute the same codes.
class QConv2d : public QWeightedLayer {
 public:
  QConv2d(std::shared_ptr<nn::Conv2d> conv, bool quantize_input, const QuantSettings& settings,
          bool relu = false);
  /// The patterns `conv2d` and, under QuantSettings::fuse_relu, `conv2d relu`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  Tensor forward(const Tensor& input) override;
  /// A runtime::Conv2d (quant/integer_layer.h).
  void convert(ConvertStep& step) const override;
  std::string type_name() const override { return fused_relu() ? "QConvReLU2d" : "QConv2d"; }
  std::string describe() const override { return type_name() + "(" + conv->describe() + ")"; }

  std::shared_ptr<nn::Conv2d> conv;
};

}  // namespace qg::quant
