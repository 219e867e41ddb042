// Batch-norm folding: conv followed by BN in inference is one conv with rescaled weights and a new bias.
//
//   BN(conv(x)) = gamma * (W*x + b - mean) / sqrt(var + eps) + beta
//               = (W * gamma/std) * x + (beta + (b - mean) * gamma/std),   std = sqrt(var + eps)
// so  W_fold[c] = W[c] * gamma[c] / std[c]  and  b_fold[c] = beta[c] + (b[c] - mean[c]) * gamma[c] / std[c].
// The result is differentiable w.r.t. W, b, gamma and beta (mean and var are treated as constants), which is
// what QAT needs: the network trains through the folded weights that will be quantized.
#pragma once

#include "core/tensor.h"

namespace qg::quant {

struct FoldedConv {
  Tensor weight;  // [C_out, C_in/groups, kH, kW]
  Tensor bias;    // [C_out]
};

/// `bias` may be undefined (conv without bias); `gamma`/`beta` may be undefined (BN without affine).
FoldedConv fold_batch_norm(const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var,
                           const Tensor& gamma, const Tensor& beta, float eps);

}  // namespace qg::quant
