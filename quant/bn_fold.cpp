#include "quant/bn_fold.h"

#include <stdexcept>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/kernels/batch_norm.h"
#include "core/kernels/elementwise.h"

namespace qg::quant {

Tensor batch_norm_scale(const Tensor& var, const Tensor& gamma, float eps) {
  const Tensor inv_std = kernel::pow_scalar(kernel::add_scalar(var.detach(), eps), -0.5f);  // constant
  return gamma.defined() ? mul(gamma, inv_std) : inv_std;
}

BatchNormAffine batch_norm_affine(const Tensor& mean, const Tensor& var, const Tensor& gamma,
                                  const Tensor& beta, float eps) {
  if (mean.dim() != 1 || var.shape() != mean.shape()) {
    throw std::invalid_argument("batch_norm_affine: statistics " + to_string(mean.shape()) + "/" +
                                to_string(var.shape()) + " are not two [C] vectors");
  }
  const Tensor scale = batch_norm_scale(var, gamma, eps);
  Tensor shift = mul(neg(mean.detach()), scale);  // the folded bias of a conv without bias: (0 - mean) scale
  if (beta.defined()) shift = add(shift, beta);
  return {scale, shift};
}

std::pair<Tensor, Tensor> track_batch_statistics(nn::BatchNorm2d& bn, const Tensor& y) {
  NoGradGuard no_grad;
  const kernel::ChannelLayout layout = kernel::channel_layout(y.shape());
  const kernel::ChannelStats stats = kernel::channel_statistics(y.contiguous(), layout);
  kernel::update_running_statistics(bn.running_mean, bn.running_var, stats, stats.count, bn.momentum);
  const Tensor mean = Tensor::from_vector(stats.mean, {static_cast<int64_t>(stats.mean.size())});
  const Tensor var = Tensor::from_vector(stats.var, {static_cast<int64_t>(stats.var.size())});
  bn.num_batches_tracked.data()[0] += 1.0f;
  return {mean, var};
}

FoldedConv fold_batch_norm(const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                           const Tensor& gamma, const Tensor& beta, float eps) {
  const int64_t channels = weight.shape()[0];
  if (mean.shape() != Shape{channels} || var.shape() != Shape{channels}) {
    throw std::invalid_argument("fold_batch_norm: statistics " + to_string(mean.shape()) + "/" +
                                to_string(var.shape()) + " do not match weight " + to_string(weight.shape()));
  }
  const Tensor scale = batch_norm_scale(var, gamma, eps);  // gamma / std
  const Tensor folded_weight = mul(weight, reshape(scale, {channels, 1, 1, 1}));
  const Tensor centred = bias.defined() ? sub(bias, mean.detach()) : neg(mean.detach());
  Tensor folded_bias = mul(centred, scale);
  if (beta.defined()) folded_bias = add(folded_bias, beta);
  return {folded_weight, folded_bias};
}

}  // namespace qg::quant
