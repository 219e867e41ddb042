// Raw view construction: new shapes/strides over the same storage. Non-differentiable;
// autograd/ops.h wraps them as reshape/permute/transpose/narrow.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace qg::kernel {

/// Same data in a new shape. One entry may be -1 (inferred). A view when `a` is contiguous, else a copy.
Tensor reshape(const Tensor& a, Shape shape);
/// Reorders axes: result axis i is input axis dims[i]. Always a view.
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims);
/// Swaps two axes (a view).
Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1);
/// Elements [start, start+length) along `axis` (a view).
Tensor narrow(const Tensor& a, int64_t axis, int64_t start, int64_t length);

/// The permutation [0, 1, ..., ndim-1] with dim0 and dim1 swapped (negative axes allowed).
std::vector<int64_t> swapped_axes(int64_t ndim, int64_t dim0, int64_t dim1);
/// The inverse permutation of `dims`.
std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& dims);

}  // namespace qg::kernel
