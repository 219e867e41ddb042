#include "quant/qat/qconv2d.h"

#include "nn/functional/conv2d.h"
#include "quant/qat/settings_observers.h"

namespace qg::quant {

QConv2d::QConv2d(std::shared_ptr<nn::Conv2d> c, bool quantize_input, const QuantSettings& settings)
    : conv(std::move(c)), weight(weight_point(settings)), output(activation_point(settings)) {
  if (quantize_input) input.emplace(activation_point(settings));
  register_module("conv", conv);
}

Tensor QConv2d::forward(const Tensor& x_in) {
  const Tensor x = input ? (*input)(x_in, observing_) : x_in;
  const Tensor w = weight(conv->weight, observing_);
  const Tensor b = fake_quantize_bias(conv->bias, input_scale(input), weight.qparams());
  return output(nn::functional::conv2d(x, w, b, conv->options), observing_);
}

void QConv2d::freeze() {
  if (input) input->freeze();
  weight.freeze();
  output.freeze();
}

}  // namespace qg::quant
