// A near miss the check must catch: transpose swaps the shape but gives the result the contiguous strides of
// the new shape. That is a reshape, not a transpose: [[1, 2, 3], [4, 5, 6]] becomes [[1, 2], [3, 4], [5, 6]]
// instead of [[1, 4], [2, 5], [3, 6]].
#include <utility>

#include "exercises/tensor_strides/tensor_strides.h"

namespace exercise {

int64_t element_offset(std::span<const int64_t> index, const qg::Shape& strides, int64_t offset) {
  for (size_t k = 0; k < index.size(); ++k)
    offset += index[k] * strides[k];
  return offset;
}

qg::Tensor transpose(const qg::Tensor& a, int64_t dim0, int64_t dim1) {
  dim0 = qg::normalize_axis(dim0, a.dim(), "transpose");
  dim1 = qg::normalize_axis(dim1, a.dim(), "transpose");
  qg::Shape shape = a.shape();
  std::swap(shape[dim0], shape[dim1]);
  return a.as_strided(shape, qg::contiguous_strides(shape), a.offset());  // the bug: strides not swapped
}

}  // namespace exercise
