// A convolution followed by max pooling, computed an image at a time so that the convolution's output (and,
// going back, its gradient) never exists for the whole batch: each image's C_out planes are made in
// per-thread scratch, which stays in L2, and pooled from there; only the pooled output and the argmax
// reach memory. For the tutorial's first layer (40 planes of 26x26, 108 KB an image) this removes four
// passes over a 6.9 MB tensor per step: the convolution's write and the pool's read going forward, the
// pool's write of the full-size gradient and the convolution's read of it going back.
//
// Same values bit for bit as conv2d_forward then max_pool2d_forward (and max_pool2d_backward then
// conv2d_backward): the same kernels run on the same numbers; only where their intermediate lives changes.
// The *_reference functions are that unfused composition, on the naive reference kernels.
//
// Shapes: input [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW], bias [C_out] or undefined; the conv
// geometry's output [N, C_out, H_out, W_out] is the pool geometry's input (pool.batch == N, pool.channels
// == C_out, pool.in_height == H_out, pool.in_width == W_out); output [N, C_out, H_pool, W_pool].
#pragma once

#include "core/kernels/conv.h"
#include "core/kernels/pool.h"

namespace qg::kernel {

/// max_pool2d_forward(conv2d_forward(input, weight, bias, conv, path), pool). `input` and `weight` must be
/// contiguous. Throws std::invalid_argument when `path` forces a path on a geometry it cannot compute.
MaxPool2dResult conv2d_max_pool2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                          const Conv2dGeometry& conv, const Pool2dGeometry& pool,
                                          ConvPath path = ConvPath::Auto);

/// conv2d_backward(max_pool2d_backward(grad_output, argmax, pool), input, weight, conv, request, path), with
/// the forward's contiguous input and weight and its argmax; grad_output is [N, C_out, H_pool, W_pool].
Conv2dGrads conv2d_max_pool2d_backward(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                       const Tensor& input, const Tensor& weight, const Conv2dGeometry& conv,
                                       const Pool2dGeometry& pool, const Conv2dGradRequest& request,
                                       ConvPath path = ConvPath::Auto);

/// The unfused definitions on the naive kernels (conv2d_reference, max_pool2d_forward_reference, ...).
MaxPool2dResult conv2d_max_pool2d_forward_reference(const Tensor& input, const Tensor& weight,
                                                    const Tensor& bias, const Conv2dGeometry& conv,
                                                    const Pool2dGeometry& pool);
Conv2dGrads conv2d_max_pool2d_backward_reference(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                                 const Tensor& input, const Tensor& weight,
                                                 const Conv2dGeometry& conv, const Pool2dGeometry& pool);

}  // namespace qg::kernel
