#include "core/kernels/views.h"

#include <stdexcept>

namespace qg::kernel {

Tensor reshape(const Tensor& a, Shape shape) {
  int64_t known = 1;
  int64_t inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) throw std::invalid_argument("reshape: more than one -1 in " + to_string(shape));
      inferred = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw std::invalid_argument("reshape: negative size in " + to_string(shape));
    } else {
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || a.numel() % known != 0) {
      throw std::invalid_argument("reshape: cannot infer -1 in " + to_string(shape) + " for " +
                                  std::to_string(a.numel()) + " elements of " + to_string(a.shape()));
    }
    shape[inferred] = a.numel() / known;
  }
  if (numel(shape) != a.numel()) {
    throw std::invalid_argument("reshape: cannot view " + to_string(a.shape()) + " (" +
                                std::to_string(a.numel()) + " elements) as " + to_string(shape));
  }
  const Tensor c = a.contiguous();
  return c.as_strided(shape, contiguous_strides(shape), c.offset());
}

Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  if (static_cast<int64_t>(dims.size()) != a.dim()) {
    throw std::invalid_argument("permute: " + std::to_string(dims.size()) +
                                " axes given for a tensor of shape " + to_string(a.shape()));
  }
  std::vector<bool> seen(dims.size(), false);
  Shape shape(dims.size()), strides(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = normalize_axis(dims[i], a.dim(), "permute");
    if (seen[d]) throw std::invalid_argument("permute: axis " + std::to_string(d) + " repeated");
    seen[d] = true;
    shape[i] = a.shape()[d];
    strides[i] = a.strides()[d];
  }
  return a.as_strided(shape, strides, a.offset());
}

std::vector<int64_t> swapped_axes(int64_t ndim, int64_t dim0, int64_t dim1) {
  std::vector<int64_t> dims(ndim);
  for (int64_t i = 0; i < ndim; ++i)
    dims[i] = i;
  std::swap(dims[normalize_axis(dim0, ndim, "transpose")], dims[normalize_axis(dim1, ndim, "transpose")]);
  return dims;
}

Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1) {
  return permute(a, swapped_axes(a.dim(), dim0, dim1));
}

Tensor narrow(const Tensor& a, int64_t axis, int64_t start, int64_t length) {
  const int64_t ax = normalize_axis(axis, a.dim(), "narrow");
  if (start < 0 || length < 0 || start + length > a.shape()[ax]) {
    throw std::out_of_range("narrow: range [" + std::to_string(start) + ", " +
                            std::to_string(start + length) + ") exceeds axis " + std::to_string(ax) + " of " +
                            to_string(a.shape()));
  }
  Shape shape = a.shape();
  shape[ax] = length;
  return a.as_strided(shape, a.strides(), a.offset() + start * a.strides()[ax]);
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& dims) {
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    inverse[dims[i]] = static_cast<int64_t>(i);
  return inverse;
}

}  // namespace qg::kernel
