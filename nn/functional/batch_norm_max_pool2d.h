// A batch normalisation whose only reader is a max pool, as one differentiable op: the value of
//   max_pool2d(batch_norm(input, running_mean, running_var, weight, bias, bn), pool)
// and its gradients, bit for bit (the running statistics are updated the same way in training), computed
// a plane at a time so that the normalised full-size tensor and its gradient are never stored
// (core/kernels/batch_norm_max_pool.h says why that pays). nn::run_graph uses it for a BatchNorm2d layer
// followed by a MaxPool2d layer (with or without a ReLU between them), so a model trains with it without
// asking; it is also callable directly.
//
// Shapes: input [N, C, H, W]; running_mean, running_var, weight, bias [C] or undefined as batch_norm
// allows; output [N, C, H_pool, W_pool]. Throws the std::invalid_argument that batch_norm or max_pool2d
// would throw for the same arguments.
#pragma once

#include "core/tensor.h"
#include "nn/functional/batch_norm.h"
#include "nn/functional/pooling.h"

namespace qg::nn::functional {

Tensor batch_norm_max_pool2d(const Tensor& input, Tensor running_mean, Tensor running_var,
                             const Tensor& weight, const Tensor& bias, const BatchNormOptions& bn,
                             const Pool2dOptions& pool);

}  // namespace qg::nn::functional
