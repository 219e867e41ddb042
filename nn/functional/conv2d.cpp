// conv2d as an autograd Function over the convolution kernels of core/kernels/conv.h (direct, shifted-GEMM
// and im2col + GEMM paths).
#include "nn/functional/conv2d.h"

#include <stdexcept>
#include <string>

#include "autograd/function.h"
#include "core/kernels/conv.h"
#include "util/window.h"

namespace qg::nn::functional {

namespace {

std::string shapes_of(const Tensor& input, const Tensor& weight) {
  return "(input " + to_string(input.shape()) + ", weight " + to_string(weight.shape()) + ")";
}

void check_options(const Conv2dOptions& o) {
  if (o.stride < 1 || o.dilation < 1 || o.groups < 1 || o.padding < 0) {
    throw std::invalid_argument(
        "conv2d: stride, dilation and groups must be >= 1 and padding >= 0 (got stride " +
        std::to_string(o.stride) + ", padding " + std::to_string(o.padding) + ", dilation " +
        std::to_string(o.dilation) + ", groups " + std::to_string(o.groups) + ")");
  }
}

void check_shapes(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  const std::string shapes = shapes_of(input, weight);
  if (input.dim() != 4) throw std::invalid_argument("conv2d: expected a 4-D input [N,C,H,W] " + shapes);
  if (weight.dim() != 4) {
    throw std::invalid_argument("conv2d: expected a 4-D weight [C_out,C_in/groups,kH,kW] " + shapes);
  }
  const int64_t out_channels = weight.size(0), expected_in = weight.size(1) * o.groups;
  if (out_channels % o.groups != 0) {
    throw std::invalid_argument("conv2d: weight has " + std::to_string(out_channels) +
                                " output channels, not divisible by groups " + std::to_string(o.groups) +
                                " " + shapes);
  }
  if (input.size(1) != expected_in) {
    const std::string per_group = o.groups == 1 ? ""
                                                : " (" + std::to_string(o.groups) + " groups of " +
                                                      std::to_string(weight.size(1)) + ")";
    throw std::invalid_argument("conv2d: input has " + std::to_string(input.size(1)) +
                                " channels but weight expects " + std::to_string(expected_in) + per_group +
                                " " + shapes);
  }
  if (bias.defined() && bias.shape() != Shape{out_channels}) {
    throw std::invalid_argument("conv2d: bias has shape " + to_string(bias.shape()) + " but weight has " +
                                std::to_string(out_channels) + " output channels " + shapes);
  }
  for (int axis : {2, 3}) {
    try {
      conv_output_size(input.size(axis), weight.size(axis), o.stride, o.padding, o.dilation, "conv2d");
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string(e.what()) + " " + shapes);
    }
  }
}

// y[n,co] = b[co] + sum_{ci,ki,kj} w[co,ci,ki,kj] * x[n, g*Cin/G + ci, oh*s - p + ki*d, ow*s - p + kj*d]
// (g the group of co). With X the im2col matrix and G the output gradient as [C_out, N*P]:
//   dL/dW_g = G_g X_g^T,   dL/dX_g = W_g^T G_g  (then col2im onto x),   dL/db[co] = sum_{n,oh,ow} G[co]
struct Conv2dFn {
  static constexpr const char* name = "conv2d";
  kernel::Conv2dGeometry geometry;
  Tensor input, weight;             // contiguous
  kernel::Conv2dGradRequest needs;  // gradients nobody asked for are not computed

  Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const kernel::Conv2dGeometry& g) {
    geometry = g;
    input = x.contiguous();
    weight = w.contiguous();
    needs = {x.requires_grad(), w.requires_grad(), b.requires_grad()};
    return kernel::conv2d_forward(input, weight, b, geometry);
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    const kernel::Conv2dGrads g = kernel::conv2d_backward(grad, input, weight, geometry, needs);
    return {g.input, g.weight, g.bias};
  }
};

}  // namespace

int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                         const char* op) {
  if (kernel < 1 || stride < 1 || dilation < 1 || padding < 0) {
    throw std::invalid_argument(std::string(op) +
                                ": kernel, stride and dilation must be >= 1 and padding >= 0 (got kernel " +
                                std::to_string(kernel) + ", stride " + std::to_string(stride) + ", padding " +
                                std::to_string(padding) + ", dilation " + std::to_string(dilation) + ")");
  }
  const int64_t out = util::window_output_size(input, kernel, stride, padding, dilation);
  if (out == 0) {
    const int64_t reach = dilation * (kernel - 1) + 1;  // the span of the (dilated) window
    const int64_t padded = input + 2 * padding;
    throw std::invalid_argument(std::string(op) + ": output would be empty: window of size " +
                                std::to_string(reach) + " (kernel " + std::to_string(kernel) + ", dilation " +
                                std::to_string(dilation) + ") is larger than the padded input size " +
                                std::to_string(padded) + " (size " + std::to_string(input) + ", padding " +
                                std::to_string(padding) + ")");
  }
  return out;
}

kernel::Conv2dGeometry checked_conv2d_geometry(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                               const Conv2dOptions& options) {
  check_options(options);
  check_shapes(input, weight, bias, options);
  return kernel::conv2d_geometry(input.shape(), weight.shape(), options.stride, options.padding,
                                 options.dilation, options.groups);
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  return apply<Conv2dFn>(input, weight, bias, checked_conv2d_geometry(input, weight, bias, options));
}

}  // namespace qg::nn::functional
