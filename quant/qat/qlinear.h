#pragma once

#include "nn/layers/linear.h"
#include "quant/qat/qat_layer.h"

namespace qg::quant {

/// y = FQ_out(linear(FQ_in(x), FQ_w(W), FQ_b(b))), as QConv2d.
class QLinear : public QatLayer {
 public:
  QLinear(std::shared_ptr<nn::Linear> linear, bool quantize_input, const QuantSettings& settings);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "QLinear"; }
  std::string describe() const override { return "QLinear(" + linear->describe() + ")"; }
  void freeze() override;
  const QuantPoint* output_point() const override { return &output; }
  std::vector<NamedQuantPoint> quant_points() override;

  std::shared_ptr<nn::Linear> linear;
  std::optional<QuantPoint> input;
  QuantPoint weight;
  QuantPoint output;
};

}  // namespace qg::quant
