// Reductions along axes (non-differentiable kernels; see autograd/ops.h for the graph-recording ones).
#pragma once

#include <vector>

#include "core/tensor.h"

namespace qg::kernel {

/// Sum over `axes` (negative allowed; empty = all axes). keepdim keeps reduced axes as size 1.
Tensor sum(const Tensor& a, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& axes = {}, bool keepdim = false);
/// Maximum / minimum along one axis; NaN where any value along the axis is NaN (as torch.max/min).
Tensor max(const Tensor& a, int64_t axis, bool keepdim = false);
Tensor min(const Tensor& a, int64_t axis, bool keepdim = false);
/// Index of the maximum along one axis, stored as float (exact below 2^24). Ties go to the lowest index; a
/// NaN counts as the maximum, and the first NaN wins (as torch.argmax).
Tensor argmax(const Tensor& a, int64_t axis, bool keepdim = false);

/// Sums `a` down to `shape`, the inverse of broadcasting `shape` up to a.shape(): used by the
/// backward pass of every broadcasting op.
Tensor sum_to(const Tensor& a, const Shape& shape);

/// Normalises an axis list for `a` (sorted, unique, non-negative); empty means all axes.
std::vector<int64_t> reduction_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* op);
/// Shape of a reduction's result.
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keepdim);

}  // namespace qg::kernel
