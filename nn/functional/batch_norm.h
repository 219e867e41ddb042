// Batch normalisation over the channel axis of [N, C, H, W] (or [N, C]).
//
// training: normalise with the batch mean and biased variance over (N, H, W), and update the running
//   statistics in place with PyTorch's convention
//     running_mean = (1 - momentum) * running_mean + momentum * batch_mean
//     running_var  = (1 - momentum) * running_var  + momentum * batch_var_unbiased
// eval: normalise with the running statistics.
// y = (x - mean) / sqrt(var + eps) * weight + bias; weight/bias may be undefined (affine=False).
// Running statistics may be undefined in training mode (nothing is tracked) but are required in eval.
// Backward: the full gradient through the batch statistics in training mode, the affine one in eval.
#pragma once

#include "core/tensor.h"

namespace qg::nn::functional {

struct BatchNormOptions {
  bool training = true;
  float momentum = 0.1f;
  float eps = 1e-5f;
};

Tensor batch_norm(const Tensor& input, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, const BatchNormOptions& options);

}  // namespace qg::nn::functional
