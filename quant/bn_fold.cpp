#include "quant/bn_fold.h"

#include <stdexcept>

#include "autograd/ops.h"
#include "core/kernels/elementwise.h"

namespace qg::quant {

FoldedConv fold_batch_norm(const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                           const Tensor& gamma, const Tensor& beta, float eps) {
  const int64_t channels = weight.shape()[0];
  if (mean.shape() != Shape{channels} || var.shape() != Shape{channels}) {
    throw std::invalid_argument("fold_batch_norm: statistics " + to_string(mean.shape()) + "/" +
                                to_string(var.shape()) + " do not match weight " + to_string(weight.shape()));
  }
  const Tensor inv_std = kernel::pow_scalar(kernel::add_scalar(var.detach(), eps), -0.5f);  // constant
  const Tensor scale = gamma.defined() ? mul(gamma, inv_std) : inv_std;                    // gamma / std
  const Tensor folded_weight = mul(weight, reshape(scale, {channels, 1, 1, 1}));
  const Tensor centred = bias.defined() ? sub(bias, mean.detach()) : neg(mean.detach());
  Tensor folded_bias = mul(centred, scale);
  if (beta.defined()) folded_bias = add(folded_bias, beta);
  return {folded_weight, folded_bias};
}

}  // namespace qg::quant
