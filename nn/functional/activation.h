// Activations.
#pragma once

#include "core/tensor.h"

namespace qg::nn::functional {

/// max(x, 0); the gradient is passed where x > 0 (0 at x = 0, as PyTorch).
Tensor relu(const Tensor& input);

/// min(max(x, 0), 6), element-wise, any shape (PyTorch's F.relu6, which is hardtanh(x, 0, 6)). A NaN stays
/// NaN and -0 stays -0, as in torch.clamp. The gradient is passed strictly inside (0, 6) and is 0 elsewhere,
/// including at exactly 0 and 6 (PyTorch's hardtanh_backward: x <= 0 || x >= 6 ? 0 : grad); at a NaN input
/// it is passed on, as that comparison is false for NaN.
Tensor relu6(const Tensor& input);

/// The logistic function 1 / (1 + e^-x), element-wise, any shape, in (0, 1) (0 or 1 once e^-|x| underflows;
/// PyTorch's torch.sigmoid). Computed without overflow for every x: e^-|x| is never above 1. The gradient
/// is y (1 - y) from the saved output y. The course's exercise custom_function writes it as a Function.
Tensor sigmoid(const Tensor& input);

}  // namespace qg::nn::functional
