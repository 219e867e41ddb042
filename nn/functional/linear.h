// Fully connected layer: y = x W^T + b, with x [N, in], W [out, in], b [out] (or undefined).
// Mismatched shapes throw, e.g. `linear: input has 999 features but weight expects 1000 (input [64,999],
// weight [10,1000])`.
#pragma once

#include "core/tensor.h"

namespace qg::nn::functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias);

}  // namespace qg::nn::functional
