// Shapes and strides: the index arithmetic every strided tensor rests on.
//
// A tensor of shape [d0, d1, ..., dn-1] stored row-major ("contiguous") has strides
// [d1*...*dn-1, ..., dn-1, 1]: element (i0, ..., in-1) lives at offset + sum_k ik * stride_k.
// Views (reshape, permute, slicing) change shape, strides and offset but never move data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qg {

using Shape = std::vector<int64_t>;

/// Number of elements of a shape (1 for a scalar, i.e. the empty shape).
int64_t numel(const Shape& shape);

/// Row-major strides for `shape`.
Shape contiguous_strides(const Shape& shape);

/// Where element `index` of a strided view lives in its storage: offset + sum_k index[k] * strides[k]
/// (minitorch's index_to_position). `index` has one entry per stride (asserted); checking each entry against
/// its dimension is the caller's job (Tensor::at does it).
int64_t element_offset(std::span<const int64_t> index, const Shape& strides, int64_t offset);

/// "[64,1,28,28]": for error messages.
std::string to_string(const Shape& shape);

/// Wraps a possibly negative axis (-1 = last) into [0, ndim); throws naming `op` when out of range.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

/// NumPy broadcasting: align trailing dimensions; each pair must be equal or one of them 1.
/// Throws `op: cannot broadcast [a] with [b]` otherwise.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace qg
