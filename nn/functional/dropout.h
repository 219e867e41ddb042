// Dropout (Srivastava et al. 2014, "Dropout: a simple way to prevent neural networks from overfitting"), in
// its inverted form, as PyTorch's F.dropout: during training each element is zeroed with probability p and
// the others are scaled by 1/(1-p), so that the expected output equals the input and evaluation needs no
// rescaling.
#pragma once

#include "core/random.h"
#include "core/tensor.h"

namespace qg::nn::functional {

/// An inverted-dropout mask of `shape`: each element, drawn in row-major order from `gen`, is 0 with
/// probability p (a uniform draw u in [0, 1) below p) and 1/(1-p) otherwise. p must be in [0, 1):
/// std::invalid_argument otherwise (p = 1 would divide by 0).
Tensor dropout_mask(const Shape& shape, float p, Generator& gen);

/// y = x * m with m = dropout_mask(x.shape(), p, gen), any shape; backward: dx = dy * m, the same mask. With
/// training false, or p = 0, returns `input` itself (no copy, no draw), as PyTorch. Throws
/// std::invalid_argument for p outside [0, 1).
Tensor dropout(const Tensor& input, float p, bool training, Generator& gen);

}  // namespace qg::nn::functional
