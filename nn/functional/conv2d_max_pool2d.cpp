#include "nn/functional/conv2d_max_pool2d.h"

#include "autograd/function.h"
#include "core/kernels/conv_max_pool.h"

namespace qg::nn::functional {

namespace {

// y = max_pool(conv(x, w) + b): the gradient of the pooled output goes to each window's argmax in the
// convolution's output, and from there through the convolution's gradients (Conv2dFn, MaxPool2dFn).
struct Conv2dMaxPool2dFn {
  static constexpr const char* name = "conv2d_max_pool2d";
  kernel::Conv2dGeometry conv;
  kernel::Pool2dGeometry pool;
  Tensor input, weight;  // contiguous
  kernel::MaxPool2dArgmax argmax;
  kernel::Conv2dGradRequest needs;  // gradients nobody asked for are not computed

  Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const kernel::Conv2dGeometry& c,
                 const kernel::Pool2dGeometry& p) {
    conv = c;
    pool = p;
    input = x.contiguous();
    weight = w.contiguous();
    needs = {x.requires_grad(), w.requires_grad(), b.requires_grad()};
    kernel::MaxPool2dResult result = kernel::conv2d_max_pool2d_forward(input, weight, b, conv, pool);
    argmax = std::move(result.argmax);
    return result.output;
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    const kernel::Conv2dGrads g =
        kernel::conv2d_max_pool2d_backward(grad, argmax, input, weight, conv, pool, needs);
    return {g.input, g.weight, g.bias};
  }
};

}  // namespace

Tensor conv2d_max_pool2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                         const Conv2dOptions& conv, const Pool2dOptions& pool) {
  const kernel::Conv2dGeometry c = checked_conv2d_geometry(input, weight, bias, conv);
  const kernel::Pool2dGeometry p =
      checked_pool2d_geometry({c.batch, c.out_channels, c.out_height, c.out_width}, pool, "max_pool2d");
  return apply<Conv2dMaxPool2dFn>(input, weight, bias, c, p);
}

}  // namespace qg::nn::functional
