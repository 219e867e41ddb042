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
  const QParams wq = weight.qparams();
  const float s_in = input_scale(input);
  const Tensor y = nn::functional::conv2d(x, w, fake_quantize_bias(conv->bias, s_in, wq), conv->options);
  return output.requantize(y, s_in, wq, observing_);
}

std::vector<NamedQuantPoint> QConv2d::quant_points() {
  std::vector<NamedQuantPoint> points;
  if (input) points.emplace_back("input", &*input);
  points.emplace_back("weight", &weight);
  points.emplace_back("output", &output);
  return points;
}

void QConv2d::freeze() {
  if (input) input->freeze();
  weight.freeze();
  output.freeze();
}

}  // namespace qg::quant
