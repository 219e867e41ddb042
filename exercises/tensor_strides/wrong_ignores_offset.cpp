// A near miss the check must catch: element_offset forgets the view's own offset (right for every tensor
// that starts at the beginning of its storage, wrong for a slice such as narrow(x, 0, 1, 2)).
#include <utility>

#include "exercises/tensor_strides/tensor_strides.h"

namespace exercise {

int64_t element_offset(std::span<const int64_t> index, const qg::Shape& strides, int64_t offset) {
  (void)offset;  // the bug
  int64_t position = 0;
  for (size_t k = 0; k < index.size(); ++k)
    position += index[k] * strides[k];
  return position;
}

qg::Tensor transpose(const qg::Tensor& a, int64_t dim0, int64_t dim1) {
  dim0 = qg::normalize_axis(dim0, a.dim(), "transpose");
  dim1 = qg::normalize_axis(dim1, a.dim(), "transpose");
  qg::Shape shape = a.shape(), strides = a.strides();
  std::swap(shape[dim0], shape[dim1]);
  std::swap(strides[dim0], strides[dim1]);
  return a.as_strided(shape, strides, a.offset());
}

}  // namespace exercise
