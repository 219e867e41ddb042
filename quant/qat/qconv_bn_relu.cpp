#include "quant/qat/qconv_bn_relu.h"

#include "autograd/grad_mode.h"
#include "nn/functional/conv2d.h"
#include "quant/bn_fold.h"
#include "quant/integer_layer.h"

namespace qg::quant {

QConvBNReLU::QConvBNReLU(std::shared_ptr<nn::Conv2d> c, std::shared_ptr<nn::BatchNorm2d> b, bool with_relu,
                         bool quantize_input, const QuantSettings& settings)
    : QWeightedLayer(settings, quantize_input, c->out_channels, with_relu),
      conv(std::move(c)),
      bn(std::move(b)) {
  if (bn->num_features != conv->out_channels) {
    throw std::invalid_argument("QConvBNReLU: BatchNorm2d has " + std::to_string(bn->num_features) +
                                " features but the conv has " + std::to_string(conv->out_channels) +
                                " channels");
  }
  register_module("conv", conv);
  register_module("bn", bn);
  register_point_parameters();
}

std::shared_ptr<QatLayer> QConvBNReLU::from_float(const PrepareStep& step) {
  return std::make_shared<QConvBNReLU>(step.layer<nn::Conv2d>(0), step.layer<nn::BatchNorm2d>(1),
                                       step.layers.size() == 3, step.flowing == nullptr, step.settings);
}

void QConvBNReLU::convert(ConvertStep& step) const {
  const auto [w, b] = folded_for_inference();
  step.emit(integer_conv2d(*conv, w, b, weight->qparams(), output->qparams(), fused_relu(), step));
}

std::pair<Tensor, Tensor> QConvBNReLU::batch_statistics(const Tensor& x) {
  NoGradGuard no_grad;
  const Tensor y = nn::functional::conv2d(x, conv->weight, conv->bias, conv->options);
  return track_batch_statistics(*bn, y);
}

std::pair<Tensor, Tensor> QConvBNReLU::folded_for_inference() const {
  const FoldedConv f = fold_batch_norm(conv->weight, conv->bias, bn->running_mean, bn->running_var,
                                       bn->weight, bn->bias, bn->eps);
  return {f.weight.detach(), f.bias.detach()};
}

Tensor QConvBNReLU::forward(const Tensor& x_in) {
  const Tensor x = quantize_input(x_in);
  const bool batch_stats = is_training() && !bn_frozen_;
  const auto [mean, var] = batch_stats ? batch_statistics(x) : std::pair{bn->running_mean, bn->running_var};
  const FoldedConv folded =
      fold_batch_norm(conv->weight, conv->bias, mean, var, bn->weight, bn->bias, bn->eps);
  const auto [w, wq] = quantize_weight(folded.weight);
  const float s_in = input_scale();
  const Tensor y = nn::functional::conv2d(x, w, fake_quantize_bias(folded.bias, s_in, wq), conv->options);
  return quantize_output(y, s_in, wq);
}

std::string QConvBNReLU::describe() const {
  return type_name() + "(" + conv->describe() + ", " + bn->describe() + ")";
}

}  // namespace qg::quant
