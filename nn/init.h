// Parameter initialisation, distributed as PyTorch's defaults so that training recipes carry over.
#pragma once

#include "core/random.h"
#include "core/tensor.h"

namespace qg::nn::init {

/// Kaiming-uniform with a = sqrt(5) (PyTorch's default for Conv and Linear weights):
/// gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
Tensor kaiming_uniform_default(const Shape& shape, int64_t fan_in, Generator& gen);
/// Uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (PyTorch's default bias).
Tensor bias_uniform(const Shape& shape, int64_t fan_in, Generator& gen);

}  // namespace qg::nn::init
