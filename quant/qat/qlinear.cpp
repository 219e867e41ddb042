#include "quant/qat/qlinear.h"

#include "nn/functional/linear.h"

namespace qg::quant {

QLinear::QLinear(std::shared_ptr<nn::Linear> l, bool quantize_input, const QuantSettings& settings, bool relu)
    : QWeightedLayer(settings, quantize_input, l->out_features, relu), linear(std::move(l)) {
  register_module("linear", linear);
  register_point_parameters();
}

Tensor QLinear::forward(const Tensor& x_in) {
  const Tensor x = quantize_input(x_in);
  const auto [w, wq] = quantize_weight(linear->weight);
  const float s_in = input_scale();
  const Tensor y = nn::functional::linear(x, w, fake_quantize_bias(linear->bias, s_in, wq));
  return quantize_output(y, s_in, wq);
}

}  // namespace qg::quant
