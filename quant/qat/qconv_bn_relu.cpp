#include "quant/qat/qconv_bn_relu.h"

#include "autograd/grad_mode.h"
#include "core/kernels/batch_norm.h"
#include "nn/functional/activation.h"
#include "nn/functional/conv2d.h"
#include "quant/bn_fold.h"
#include "quant/qat/settings_observers.h"

namespace qg::quant {

QConvBNReLU::QConvBNReLU(std::shared_ptr<nn::Conv2d> c, std::shared_ptr<nn::BatchNorm2d> b, bool with_relu,
                         bool quantize_input, const QuantSettings& settings)
    : conv(std::move(c)),
      bn(std::move(b)),
      relu(with_relu),
      weight(weight_point(settings)),
      output(activation_point(settings)) {
  if (bn->num_features != conv->out_channels) {
    throw std::invalid_argument("QConvBNReLU: BatchNorm2d has " + std::to_string(bn->num_features) +
                                " features but the conv has " + std::to_string(conv->out_channels) +
                                " channels");
  }
  if (quantize_input) input.emplace(activation_point(settings));
  register_module("conv", conv);
  register_module("bn", bn);
}

std::pair<Tensor, Tensor> QConvBNReLU::batch_statistics(const Tensor& x) {
  NoGradGuard no_grad;
  const Tensor y = nn::functional::conv2d(x, conv->weight, conv->bias, conv->options);
  // The batch statistics and running-statistics update of nn::BatchNorm2d, through the same kernels.
  const kernel::ChannelLayout layout = kernel::channel_layout(y.shape());
  const kernel::ChannelStats stats = kernel::channel_statistics(y, layout);
  kernel::update_running_statistics(bn->running_mean, bn->running_var, stats, layout.count(), bn->momentum);
  const Tensor mean = Tensor::from_vector(stats.mean, {static_cast<int64_t>(stats.mean.size())});
  const Tensor var = Tensor::from_vector(stats.var, {static_cast<int64_t>(stats.var.size())});
  bn->num_batches_tracked.data()[0] += 1.0f;
  return {mean, var};
}

std::pair<Tensor, Tensor> QConvBNReLU::folded_for_inference() const {
  const FoldedConv f = fold_batch_norm(conv->weight, conv->bias, bn->running_mean, bn->running_var,
                                       bn->weight, bn->bias, bn->eps);
  return {f.weight.detach(), f.bias.detach()};
}

Tensor QConvBNReLU::forward(const Tensor& x_in) {
  const Tensor x = input ? (*input)(x_in, observing_) : x_in;
  const auto [mean, var] = is_training() ? batch_statistics(x) : std::pair{bn->running_mean, bn->running_var};
  const FoldedConv folded =
      fold_batch_norm(conv->weight, conv->bias, mean, var, bn->weight, bn->bias, bn->eps);
  const Tensor w = weight(folded.weight, observing_);
  const QParams wq = weight.qparams();
  const float s_in = input_scale(input);
  Tensor y = nn::functional::conv2d(x, w, fake_quantize_bias(folded.bias, s_in, wq), conv->options);
  if (relu) y = nn::functional::relu(y);  // max(acc, 0) stays on the accumulator grid
  return output.requantize(y, s_in, wq, observing_);
}

std::vector<NamedQuantPoint> QConvBNReLU::quant_points() {
  std::vector<NamedQuantPoint> points;
  if (input) points.emplace_back("input", &*input);
  points.emplace_back("weight", &weight);
  points.emplace_back("output", &output);
  return points;
}

void QConvBNReLU::freeze() {
  if (input) input->freeze();
  weight.freeze();
  output.freeze();
}

std::string QConvBNReLU::describe() const {
  return type_name() + "(" + conv->describe() + ", " + bn->describe() + ")";
}

}  // namespace qg::quant
