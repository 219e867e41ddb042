// Fully connected layer: y = x W^T + b, with x [N, in], W [out, in], b [out] (or undefined).
#pragma once

#include "core/tensor.h"

namespace qg::nn::functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias);

}  // namespace qg::nn::functional
