#include "quant/qat/qconv2d.h"

#include "nn/functional/conv2d.h"
#include "quant/integer_layer.h"

namespace qg::quant {

QConv2d::QConv2d(std::shared_ptr<nn::Conv2d> c, bool quantize_input, const QuantSettings& settings, bool relu)
    : QWeightedLayer(settings, quantize_input, c->out_channels, relu), conv(std::move(c)) {
  register_module("conv", conv);
  register_point_parameters();
}

std::shared_ptr<QatLayer> QConv2d::from_float(const PrepareStep& step) {
  return std::make_shared<QConv2d>(step.layer<nn::Conv2d>(0), step.flowing == nullptr, step.settings,
                                   step.layers.size() == 2);
}

void QConv2d::convert(ConvertStep& step) const {
  step.emit(integer_conv2d(*conv, conv->weight, conv->bias, weight->qparams(), output->qparams(),
                           fused_relu(), step));
}

Tensor QConv2d::forward(const Tensor& x_in) {
  const Tensor x = quantize_input(x_in);
  const auto [w, wq] = quantize_weight(conv->weight);
  const float s_in = input_scale();
  const Tensor y = nn::functional::conv2d(x, w, fake_quantize_bias(conv->bias, s_in, wq), conv->options);
  return quantize_output(y, s_in, wq);
}

}  // namespace qg::quant
