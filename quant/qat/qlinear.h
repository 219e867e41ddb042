#pragma once

#include "nn/layers/linear.h"
#include "quant/qat/qat_layer.h"

namespace qg::quant {

/// y = FQ_out(linear(FQ_in(x), FQ_w(W), FQ_b(b))), as QConv2d (with an optional fused ReLU).
class QLinear : public QWeightedLayer {
 public:
  QLinear(std::shared_ptr<nn::Linear> linear, bool quantize_input, const QuantSettings& settings,
          bool relu = false);
  /// The patterns `linear` and, under QuantSettings::fuse_relu, `linear relu`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  Tensor forward(const Tensor& input) override;
  /// A runtime::Linear (quant/integer_layer.h).
  void convert(ConvertStep& step) const override;
  std::string type_name() const override { return fused_relu() ? "QLinearReLU" : "QLinear"; }
  std::string describe() const override { return type_name() + "(" + linear->describe() + ")"; }

  std::shared_ptr<nn::Linear> linear;
};

}  // namespace qg::quant
