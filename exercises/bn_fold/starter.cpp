// exercise bn_fold (chapter 6): fold a BatchNorm into the weight and bias of the conv before it
//
// In inference a BatchNorm after a conv is a per-channel affine map, so the two are one conv
// (Jacob et al. 2018, section 3.2; quant/bn_fold.h):
//
// clang-format off
//     BN(conv(x)) = gamma * (W*x + b - mean) / sqrt(var + eps) + beta
//                 = (W * gamma/std) * x + (beta + (b - mean) * gamma/std),     std = sqrt(var + eps)
//     W_fold[c, ...] = W[c, ...] * gamma[c] / std[c]
//     b_fold[c]      = beta[c] + (b[c] - mean[c]) * gamma[c] / std[c]
// clang-format on
//
// Write fold_batch_norm(weight, bias, mean, var, gamma, beta, eps) -> {W_fold, b_fold} as
// qg::quant::fold_batch_norm does. weight is [C_out, C_in/groups, kH, kW]; bias, mean, var, gamma, beta
// are [C_out]. bias may be undefined (!bias.defined(): a conv without bias, b = 0); gamma and beta may be
// undefined (a BatchNorm without affine: gamma = 1, beta = 0). Throw std::invalid_argument when mean or var
// is not [C_out].
//
// QAT trains THROUGH the fold (chapter 6), so the result must be differentiable w.r.t. weight, bias, gamma
// and beta: build it from the autograd ops of autograd/ops.h (qg::mul, qg::add, qg::sub, qg::neg,
// qg::reshape, qg::pow, qg::add_scalar, ...), not from raw loops over data(). mean and var are constants:
// use mean.detach() and var.detach(), so that no gradient flows into them.
//
// The check compares both results (to 1e-5 relative) and the gradients of a random projection of them
// w.r.t. weight, bias, gamma and beta with the library's, with and without bias and affine parameters,
// var = 0, negative gamma, a large eps, 1x1 kernels. Run it with: scripts/exercise check bn_fold
#include <stdexcept>

#include "autograd/ops.h"
#include "exercises/bn_fold/bn_fold.h"

namespace exercise {

qg::quant::FoldedConv fold_batch_norm(const qg::Tensor& weight, const qg::Tensor& bias,
                                      const qg::Tensor& mean, const qg::Tensor& var, const qg::Tensor& gamma,
                                      const qg::Tensor& beta, float eps) {
  (void)weight, (void)bias, (void)mean, (void)var, (void)gamma, (void)beta, (void)eps;
  throw std::logic_error("exercise bn_fold: not written yet");
}

}  // namespace exercise
