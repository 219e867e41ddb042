// A near miss the check must catch: std = sqrt(var) without eps. Close to right when var >> eps; wrong by
// a visible amount for a large eps, and infinite for a channel whose variance is 0.
#include <stdexcept>

#include "autograd/ops.h"
#include "exercises/bn_fold/bn_fold.h"

namespace exercise {

qg::quant::FoldedConv fold_batch_norm(const qg::Tensor& weight, const qg::Tensor& bias,
                                      const qg::Tensor& mean, const qg::Tensor& var, const qg::Tensor& gamma,
                                      const qg::Tensor& beta, float eps) {
  const int64_t channels = weight.shape()[0];
  if (mean.shape() != qg::Shape{channels} || var.shape() != qg::Shape{channels})
    throw std::invalid_argument("fold_batch_norm: statistics do not match the weight");
  (void)eps;
  const qg::Tensor inv_std = qg::pow(var.detach(), -0.5f);  // the bug: var + eps
  const qg::Tensor scale = gamma.defined() ? qg::mul(gamma, inv_std) : inv_std;
  const qg::Tensor w = qg::mul(weight, qg::reshape(scale, {channels, 1, 1, 1}));
  const qg::Tensor centred = bias.defined() ? qg::sub(bias, mean.detach()) : qg::neg(mean.detach());
  qg::Tensor b = qg::mul(centred, scale);
  if (beta.defined()) b = qg::add(b, beta);
  return {w, b};
}

}  // namespace exercise
