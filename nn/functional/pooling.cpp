// max_pool2d and avg_pool2d as autograd Functions over core/kernels/pool.h.
#include "nn/functional/pooling.h"

#include <stdexcept>
#include <string>

#include "autograd/function.h"
#include "core/kernels/pool.h"
#include "nn/functional/conv2d.h"

namespace qg::nn::functional {

namespace {

// Validates input and options with PyTorch's rules and returns the kernel geometry.
kernel::Pool2dGeometry checked_geometry(const Tensor& input, const Pool2dOptions& o, const char* op) {
  const std::string where =
      " (input " + to_string(input.shape()) + ", kernel_size " + std::to_string(o.kernel_size) + ", stride " +
      std::to_string(o.effective_stride()) + ", padding " + std::to_string(o.padding) + ")";
  if (input.dim() != 4)
    throw std::invalid_argument(std::string(op) + ": expected a 4-D input [N,C,H,W]" + where);
  if (o.kernel_size < 1 || o.stride < 0 || o.padding < 0) {
    throw std::invalid_argument(
        std::string(op) + ": kernel_size must be >= 1, stride >= 0 (0 = kernel_size), padding >= 0" + where);
  }
  if (o.padding > o.kernel_size / 2) {
    throw std::invalid_argument(std::string(op) + ": padding must be at most half the kernel size" + where);
  }
  for (int axis : {2, 3}) {
    try {
      conv_output_size(input.size(axis), o.kernel_size, o.effective_stride(), o.padding, 1, op);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(e.what() + where);
    }
  }
  return kernel::pool2d_geometry(input.shape(), o.kernel_size, o.effective_stride(), o.padding);
}

// y = max over the window of x:  dy/dx = 1 at the window's (first) maximum, 0 elsewhere.
struct MaxPool2dFn {
  static constexpr const char* name = "max_pool2d";
  kernel::Pool2dGeometry geometry;
  kernel::MaxPool2dArgmax argmax;

  Tensor forward(const Tensor& x, const kernel::Pool2dGeometry& g) {
    geometry = g;
    kernel::MaxPool2dResult result = kernel::max_pool2d_forward(x, geometry);
    argmax = std::move(result.argmax);
    return result.output;
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    return {kernel::max_pool2d_backward(grad, argmax, geometry)};
  }
};

// y = (1/k^2) * sum over the window of x (padding counts as zeros):  dy/dx = 1/k^2 for each x in the window.
struct AvgPool2dFn {
  static constexpr const char* name = "avg_pool2d";
  kernel::Pool2dGeometry geometry;

  Tensor forward(const Tensor& x, const kernel::Pool2dGeometry& g) {
    geometry = g;
    return kernel::avg_pool2d_forward(x, geometry);
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {kernel::avg_pool2d_backward(grad, geometry)}; }
};

}  // namespace

Tensor max_pool2d(const Tensor& input, const Pool2dOptions& options) {
  return apply<MaxPool2dFn>(input, checked_geometry(input, options, "max_pool2d"));
}

Tensor avg_pool2d(const Tensor& input, const Pool2dOptions& options) {
  return apply<AvgPool2dFn>(input, checked_geometry(input, options, "avg_pool2d"));
}

}  // namespace qg::nn::functional
