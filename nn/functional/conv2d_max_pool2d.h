// A convolution whose only reader is a max pool, as one differentiable op: the value of
//   max_pool2d(conv2d(input, weight, bias, conv), pool)
// and its gradients, bit for bit, computed an image at a time so that the convolution's full-size output
// and its gradient are never stored (core/kernels/conv_max_pool.h says why that pays). nn::run_graph uses
// it for a Conv2d layer followed by a MaxPool2d layer (with or without a ReLU between them), so a model
// trains with it without asking; it is also callable directly.
//
// Shapes: input [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW], bias [C_out] or undefined; output
// [N, C_out, H_pool, W_pool]. Throws the std::invalid_argument that conv2d or max_pool2d would throw for
// the same arguments.
#pragma once

#include "core/tensor.h"
#include "nn/functional/conv2d.h"
#include "nn/functional/pooling.h"

namespace qg::nn::functional {

Tensor conv2d_max_pool2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                         const Conv2dOptions& conv, const Pool2dOptions& pool);

}  // namespace qg::nn::functional
