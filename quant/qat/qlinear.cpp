#include "quant/qat/qlinear.h"

#include "nn/functional/linear.h"
#include "quant/integer_layer.h"

namespace qg::quant {

QLinear::QLinear(std::shared_ptr<nn::Linear> l, bool quantize_input, const QuantSettings& settings, bool relu)
    : QWeightedLayer(settings, quantize_input, l->out_features, relu), linear(std::move(l)) {
  register_module("linear", linear);
  register_point_parameters();
}

std::shared_ptr<QatLayer> QLinear::from_float(const PrepareStep& step) {
  return std::make_shared<QLinear>(step.layer<nn::Linear>(0), step.flowing == nullptr, step.settings,
                                   step.layers.size() == 2);
}

void QLinear::convert(ConvertStep& step) const {
  QuantizedAffine a = quantize_affine(linear->weight, linear->bias, weight->qparams(), step.input,
                                      output->qparams(), fused_relu(), step.name);
  narrow_clamp(a.stage, step.fused_clamp);
  runtime::Linear op;
  op.in_features = linear->in_features;
  op.out_features = linear->out_features;
  op.input_quant = step.input;
  op.weight = std::move(a.weight);
  op.bias = std::move(a.bias);
  op.output_stage = std::move(a.stage);
  step.emit(op);
}

Tensor QLinear::forward(const Tensor& x_in) {
  const Tensor x = quantize_input(x_in);
  const auto [w, wq] = quantize_weight(linear->weight);
  const float s_in = input_scale();
  const Tensor y = nn::functional::linear(x, w, fake_quantize_bias(linear->bias, s_in, wq));
  return quantize_output(y, s_in, wq);
}

}  // namespace qg::quant
