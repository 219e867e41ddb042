// Shape operations: views whose gradient is the inverse view of the incoming gradient.
#include "autograd/function.h"
#include "autograd/ops.h"
#include "core/kernels/views.h"

namespace qg {

namespace {

// y = reshape(x):  dx = reshape(dy, x.shape)
struct ReshapeFn {
  static constexpr const char* name = "reshape";
  Shape input_shape;
  Tensor forward(const Tensor& x, const Shape& shape) {
    input_shape = x.shape();
    return kernel::reshape(x, shape);
  }
  std::vector<Tensor> backward(const Tensor& g) { return {kernel::reshape(g, input_shape)}; }
};

// y = permute(x, p):  dx = permute(dy, p^-1)
struct PermuteFn {
  static constexpr const char* name = "permute";
  std::vector<int64_t> inverse;
  Tensor forward(const Tensor& x, const std::vector<int64_t>& dims) {
    Tensor y = kernel::permute(x, dims);
    std::vector<int64_t> normalized;
    for (int64_t d : dims)
      normalized.push_back(normalize_axis(d, x.dim(), name));
    inverse = kernel::inverse_permutation(normalized);
    return y;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {kernel::permute(g, inverse)}; }
};

// y = x[start:start+length] along axis:  dx = dy placed in a zero tensor of x's shape
struct NarrowFn {
  static constexpr const char* name = "narrow";
  Shape input_shape;
  int64_t axis = 0, start = 0, length = 0;
  Tensor forward(const Tensor& x, int64_t ax, int64_t st, int64_t len) {
    input_shape = x.shape();
    axis = normalize_axis(ax, x.dim(), name);
    start = st;
    length = len;
    return kernel::narrow(x, axis, start, length);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor grad = Tensor::zeros(input_shape);
    kernel::narrow(grad, axis, start, length).copy_from(g);
    return {grad};
  }
};

// y = contiguous copy of x:  dx = dy
struct ContiguousFn {
  static constexpr const char* name = "contiguous";
  Tensor forward(const Tensor& x) { return x.clone(); }
  std::vector<Tensor> backward(const Tensor& g) { return {g}; }
};

}  // namespace

Tensor reshape(const Tensor& a, const Shape& shape) {
  return apply<ReshapeFn>(a, shape);
}
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  return apply<PermuteFn>(a, dims);
}
Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1) {
  return permute(a, kernel::swapped_axes(a.dim(), dim0, dim1));
}
Tensor narrow(const Tensor& a, int64_t axis, int64_t start, int64_t length) {
  return apply<NarrowFn>(a, axis, start, length);
}
Tensor flatten(const Tensor& a, int64_t start_dim) {
  const int64_t start = normalize_axis(start_dim, a.dim(), "flatten");
  Shape shape(a.shape().begin(), a.shape().begin() + start);
  int64_t collapsed = 1;
  for (int64_t i = start; i < a.dim(); ++i)
    collapsed *= a.shape()[i];
  shape.push_back(collapsed);
  return reshape(a, shape);
}
Tensor contiguous(const Tensor& a) {
  return a.is_contiguous() ? a : apply<ContiguousFn>(a);
}

}  // namespace qg
