#include "core/shape.h"

#include <cassert>
#include <sstream>
#include <stdexcept>

namespace qg {

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

int64_t element_offset(std::span<const int64_t> index, const Shape& strides, int64_t offset) {
  assert(index.size() == strides.size());
  int64_t position = offset;
  for (size_t k = 0; k < index.size(); ++k)
    position += index[k] * strides[k];
  return position;
}

std::string to_string(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    out << (i ? "," : "") << shape[i];
  out << ']';
  return out.str();
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  const int64_t wrapped = axis < 0 ? axis + ndim : axis;
  if (wrapped < 0 || wrapped >= ndim) {
    throw std::invalid_argument(std::string(op) + ": axis " + std::to_string(axis) +
                                " is out of range for a tensor with " + std::to_string(ndim) + " dimensions");
  }
  return wrapped;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    // Walk from the trailing dimension; a missing leading dimension acts as 1.
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) {
      throw std::invalid_argument(std::string(op) + ": cannot broadcast " + to_string(a) + " with " +
                                  to_string(b));
    }
    out[ndim - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace qg
