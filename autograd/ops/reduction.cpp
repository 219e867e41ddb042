// Reductions. The gradient of a sum broadcasts the incoming gradient back over the reduced axes;
// a mean also divides by the count; a max sends it to the position of the maximum.
#include <stdexcept>

#include "autograd/function.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/kernels/views.h"

namespace qg {

namespace {

// The incoming gradient of a reduction, reshaped with the reduced axes kept as size 1, then
// broadcast to the input shape (by adding to zeros of that shape).
Tensor expand_reduced_grad(const Tensor& g, const Shape& input_shape, const std::vector<int64_t>& axes) {
  const Tensor kept = kernel::reshape(g, kernel::reduced_shape(input_shape, axes, /*keepdim=*/true));
  return kernel::add(Tensor::zeros(input_shape), kept);
}

// y = sum_{axes} x:  dy/dx = 1 everywhere
struct SumFn {
  static constexpr const char* name = "sum";
  Shape input_shape;
  std::vector<int64_t> axes;
  Tensor forward(const Tensor& x, const std::vector<int64_t>& requested, bool keepdim) {
    input_shape = x.shape();
    axes = kernel::reduction_axes(requested, x.dim(), name);
    return kernel::sum(x, axes, keepdim);
  }
  std::vector<Tensor> backward(const Tensor& g) { return {expand_reduced_grad(g, input_shape, axes)}; }
};

// y = mean_{axes} x:  dy/dx = 1/count
struct MeanFn {
  static constexpr const char* name = "mean";
  Shape input_shape;
  std::vector<int64_t> axes;
  float count = 1.0f;
  Tensor forward(const Tensor& x, const std::vector<int64_t>& requested, bool keepdim) {
    input_shape = x.shape();
    axes = kernel::reduction_axes(requested, x.dim(), name);
    count = 1.0f;
    for (int64_t axis : axes)
      count *= static_cast<float>(x.shape()[axis]);
    return kernel::mean(x, axes, keepdim);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {kernel::mul_scalar(expand_reduced_grad(g, input_shape, axes), 1.0f / count)};
  }
};

// y = max_axis x:  dy/dx = 1 at the (first) argmax, 0 elsewhere
struct MaxFn {
  static constexpr const char* name = "max";
  Shape input_shape;
  int64_t axis = 0;
  Tensor winners;  // argmax indices, keepdim shape
  Tensor forward(const Tensor& x, int64_t requested_axis, bool keepdim) {
    input_shape = x.shape();
    axis = normalize_axis(requested_axis, x.dim(), name);
    winners = kernel::argmax(x, axis, /*keepdim=*/true);
    return kernel::max(x, axis, keepdim);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    // Scatter each gradient to its winner: view the input as [outer, n, inner].
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i)
      outer *= input_shape[i];
    for (size_t i = axis + 1; i < input_shape.size(); ++i)
      inner *= input_shape[i];
    const int64_t n = input_shape[axis];
    Tensor grad = Tensor::zeros(input_shape);
    const Tensor cg = g.contiguous();
    const float* win = winners.data();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = static_cast<int64_t>(win[o * inner + i]);
        grad.data()[(o * n + k) * inner + i] = cg.data()[o * inner + i];
      }
    }
    return {grad};
  }
};

}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  return apply<SumFn>(a, axes, keepdim);
}
Tensor mean(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  return apply<MeanFn>(a, axes, keepdim);
}
Tensor max(const Tensor& a, int64_t axis, bool keepdim) {
  return apply<MaxFn>(a, axis, keepdim);
}
Tensor argmax(const Tensor& a, int64_t axis, bool keepdim) {
  return kernel::argmax(a, axis, keepdim);
}

}  // namespace qg
