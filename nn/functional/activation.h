// Activations.
#pragma once

#include "core/tensor.h"

namespace qg::nn::functional {

/// max(x, 0); the gradient is passed where x > 0 (0 at x = 0, as PyTorch).
Tensor relu(const Tensor& input);

}  // namespace qg::nn::functional
