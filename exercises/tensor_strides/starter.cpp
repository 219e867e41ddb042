// exercise tensor_strides (chapter 1): where an element of a strided view lives, and a transpose as a view
//
// A Tensor is a handle on shared storage plus three numbers per view: shape, strides and offset
// (core/tensor.h, core/shape.h). Element (i0, ..., in-1) of a view lives in the storage at
//
// clang-format off
//     offset + i0 * strides[0] + ... + in-1 * strides[n-1]
// clang-format on
//
// A contiguous [2, 3] tensor has strides [3, 1]; its transpose is the SAME storage seen with shape [3, 2] and
// strides [1, 3]: no element moves. Write two functions:
//
// 1. element_offset(index, strides, offset): the storage position of `index` by the formula above, as
//    qg::element_offset computes it (core/shape.h; minitorch's index_to_position). index.size() ==
//    strides.size(); a scalar (no dimensions) is at `offset`.
// 2. transpose(a, dim0, dim1): the view of `a` with axes dim0 and dim1 swapped, as qg::kernel::transpose
//    (core/kernels/views.h) makes it: swap the two entries of the shape AND of the strides, keep the offset,
//    and return a.as_strided(shape, strides, offset) so that the result shares a's storage. Negative axes
//    count from the end (-1 is the last; qg::normalize_axis wraps them and throws for an axis out of range);
//    dim0 == dim1 is allowed (the same view).
//
// The check compares element_offset exactly on random shapes, strides and offsets, then transpose's shape,
// strides, offset and values with the library's on contiguous tensors, narrowed views (offset != 0),
// views that are already transposed, size-1 and size-0 dimensions and negative axes; it also requires a
// view (shared storage) and an error for an axis out of range. Run it with:
//     scripts/exercise check tensor_strides
#include <stdexcept>

#include "exercises/tensor_strides/tensor_strides.h"

namespace exercise {

int64_t element_offset(std::span<const int64_t> index, const qg::Shape& strides, int64_t offset) {
  (void)index, (void)strides, (void)offset;
  throw std::logic_error("exercise tensor_strides: element_offset not written yet");
}

qg::Tensor transpose(const qg::Tensor& a, int64_t dim0, int64_t dim1) {
  (void)a, (void)dim0, (void)dim1;
  throw std::logic_error("exercise tensor_strides: transpose not written yet");
}

}  // namespace exercise
