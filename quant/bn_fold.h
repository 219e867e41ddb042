// Batch-norm folding: conv followed by BN in inference is one conv with rescaled weights and a new bias.
//
//   BN(conv(x)) = gamma * (W*x + b - mean) / sqrt(var + eps) + beta
//               = (W * gamma/std) * x + (beta + (b - mean) * gamma/std),   std = sqrt(var + eps)
// so  W_fold[c] = W[c] * gamma[c] / std[c]  and  b_fold[c] = beta[c] + (b[c] - mean[c]) * gamma[c] / std[c].
// The result is differentiable w.r.t. W, b, gamma and beta (mean and var are treated as constants), which is
// what QAT needs: the network trains through the folded weights that will be quantized.
#pragma once

#include <utility>

#include "core/tensor.h"
#include "nn/layers/batch_norm2d.h"

namespace qg::quant {

/// gamma / sqrt(var + eps), per channel [C]: the factor of every BatchNorm form below. Differentiable
/// w.r.t. gamma (undefined = 1); var is a constant.
Tensor batch_norm_scale(const Tensor& var, const Tensor& gamma, float eps);

/// A BatchNorm on its own (not after a conv) as the per-channel affine map it is in inference:
///   BN(x) = gamma (x - mean) / sqrt(var + eps) + beta = scale * x + shift,
///   scale = gamma / sqrt(var + eps),   shift = beta - mean * scale       (each [C])
/// (TFLite lowers it to MUL and ADD; quant/qat/qbatch_norm2d.h). Differentiable w.r.t. gamma and beta.
struct BatchNormAffine {
  Tensor scale;
  Tensor shift;
};
BatchNormAffine batch_norm_affine(const Tensor& mean, const Tensor& var, const Tensor& gamma,
                                  const Tensor& beta, float eps);

/// The batch mean and biased variance per channel of y ([N, C, H, W]) as a BatchNorm in training mode
/// computes them (constants for the gradient, as in the tutorial's QAT), updating bn's running statistics
/// with PyTorch's rule (the unbiased variance) and num_batches_tracked, through nn::BatchNorm2d's own
/// kernels. Throws std::invalid_argument for a batch with one value per channel.
std::pair<Tensor, Tensor> track_batch_statistics(nn::BatchNorm2d& bn, const Tensor& y);

struct FoldedConv {
  Tensor weight;  // [C_out, C_in/groups, kH, kW]
  Tensor bias;    // [C_out]
};

/// `bias` may be undefined (conv without bias); `gamma`/`beta` may be undefined (BN without affine).
FoldedConv fold_batch_norm(const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                           const Tensor& gamma, const Tensor& beta, float eps);

}  // namespace qg::quant
