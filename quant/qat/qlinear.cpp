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
  const Tensor b = fake_quantize_bias(linear->bias, input_scale(input), weight.qparams());
  return output(nn::functional::linear(x, w, b), observing_);
}

void QLinear::freeze() {
  if (input) input->freeze();
  weight.freeze();
  output.freeze();
}

}  // namespace qg::quant
