// exercise conv2d_backward (chapter 3): grad_input, grad_weight and grad_bias of a conv2d from grad_output
//
// The forward pass (qg::kernel::conv2d_reference, core/kernels/conv.h), with input x [N, C_in, H, W], weight
// w [C_out, C_in/groups, kH, kW], bias b [C_out] and output y [N, C_out, H_out, W_out]:
//
// clang-format off
//     y[n, co, oh, ow] = b[co] + sum over ci, ki, kj of  x[n, c, ih, iw] * w[co, ci, ki, kj]
//         c  = group(co) * C_in/groups + ci,   group(co) = co / (C_out/groups)
//         ih = oh * stride - padding + ki * dilation,   iw = ow * stride - padding + kj * dilation
//     (a term whose ih or iw falls outside the input is 0: that is the zero padding)
// clang-format on
//
// Every term is a product x * w, so given dL/dy = grad_output (same shape as y), each term sends
// grad_output[n, co, oh, ow] * w[co, ci, ki, kj] to grad_input[n, c, ih, iw] and
// grad_output[n, co, oh, ow] * x[n, c, ih, iw] to grad_weight[co, ci, ki, kj], and
// grad_bias[co] = sum over n, oh, ow of grad_output[n, co, oh, ow]. Write
//     conv2d_backward(grad_output, input, weight, g)
// returning {grad_input, grad_weight, grad_bias} (shapes of input, weight and [C_out]), as
// qg::kernel::conv2d_backward_reference computes them. `g` holds every size (g.batch, g.in_channels,
// g.in_height, g.in_width, g.out_channels, g.kernel_height, g.kernel_width, g.stride, g.padding,
// g.dilation, g.groups, g.out_height, g.out_width); the three tensors are contiguous, so
// grad_output.data()[((n * C_out + co) * H_out + oh) * W_out + ow] is grad_output[n, co, oh, ow].
// Start from Tensor::zeros(shape) and accumulate (+=): one input element feeds many outputs.
//
// Another way, the one the library's fast path takes (core/kernels/conv.h): im2col copies every receptive
// field of the input into one column of a matrix, so that the convolution of a group is one matrix product,
// y_g [C_out/groups, N*H_out*W_out] = w_g [C_out/groups, K_g] x columns_g [K_g, N*H_out*W_out],
// K_g = C_in/groups * kH * kW; a linear layer, whose gradients you know: grad_w_g = grad_y_g x columns_g^T,
// grad_columns_g = w_g^T x grad_y_g, and col2im adds each entry of grad_columns back onto the input element
// it was copied from. Either way gives the same numbers; the direct loops above are shorter to write.
//
// The check compares your three gradients with the library's (to 1e-4) on small convolutions with stride,
// padding, dilation, groups (depthwise too) and non-square shapes, and checks the library's own gradient
// numerically on the first ones. Run it with: scripts/exercise check conv2d_backward
#include <stdexcept>

#include "exercises/conv2d_backward/conv2d_backward.h"

namespace exercise {

qg::kernel::Conv2dGrads conv2d_backward(const qg::Tensor& grad_output, const qg::Tensor& input,
                                        const qg::Tensor& weight, const qg::kernel::Conv2dGeometry& g) {
  (void)grad_output, (void)input, (void)weight, (void)g;
  throw std::logic_error("exercise conv2d_backward: not written yet");
}

}  // namespace exercise
