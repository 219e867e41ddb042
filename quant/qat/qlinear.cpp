#include "quant/qat/qlinear.h"

#include "nn/functional/linear.h"
#include "quant/qat/settings_observers.h"

namespace qg::quant {

QLinear::QLinear(std::shared_ptr<nn::Linear> l, bool quantize_input, const QuantSettings& settings)
    : linear(std::move(l)), weight(weight_point(settings)), output(activation_point(settings)) {
  if (quantize_input) input.emplace(activation_point(settings));
  register_module("linear", linear);
}

Tensor QLinear::forward(const Tensor& x_in) {
  const Tensor x = input ? (*input)(x_in, observing_) : x_in;
  const Tensor w = weight(linear->weight, observing_);
  const QParams wq = weight.qparams();
  const float s_in = input_scale(input);
  const Tensor y = nn::functional::linear(x, w, fake_quantize_bias(linear->bias, s_in, wq));
  return output.requantize(y, s_in, wq, observing_);
}

std::vector<NamedQuantPoint> QLinear::quant_points() {
  std::vector<NamedQuantPoint> points;
  if (input) points.emplace_back("input", &*input);
  points.emplace_back("weight", &weight);
  points.emplace_back("output", &output);
  return points;
}

void QLinear::freeze() {
  if (input) input->freeze();
  weight.freeze();
  output.freeze();
}

}  // namespace qg::quant
