// Batch normalisation's normalise step followed by max pooling, a plane at a time, so that the normalised
// full-size tensor (and, going back, its gradient) never exists for the whole batch: each (n, c) plane is
// normalised into per-thread scratch, which stays in L1, and pooled from there; only the pooled output and
// the argmax reach memory. For the tutorial's NetBN (40 planes of 26x26 after its first conv, 108 KB an
// image) this removes the normalised tensor's write and the pool's read of it going forward, and going
// back the pool's write of the full-size gradient and both batch-norm backward passes' reads of it.
//
// Same values bit for bit as channel_affine then max_pool2d_forward (and max_pool2d_backward then
// channel_grad_sums / channel_input_grad): the same kernels run on the same numbers; only where their
// intermediate lives changes. The statistics pass (channel_statistics) still reads the input first: the
// normalisation needs the whole batch's mean and variance before its first value.
//
// Layout: x is [N, C, H, W] contiguous (layout = channel_layout(x.shape())); the pool geometry's input is
// x's shape (pool.batch == N, pool.channels == C, pool.in_height * pool.in_width == H * W).
#pragma once

#include <vector>

#include "core/kernels/batch_norm.h"
#include "core/kernels/pool.h"

namespace qg::kernel {

/// max_pool2d_forward(channel_affine(x, scale, shift, layout), pool): output [N, C, H_pool, W_pool] and
/// its argmax into the affine output's planes.
MaxPool2dResult channel_affine_max_pool2d(const Tensor& x, const std::vector<float>& scale,
                                          const std::vector<float>& shift, const ChannelLayout& layout,
                                          const Pool2dGeometry& pool);

/// max_pool2d_backward(grad_output, argmax, pool) as planes made on demand (GradPlanes), for
/// channel_grad_sums and channel_input_grad. grad_output ([N, C, H_pool, W_pool], contiguous) and argmax
/// must outlive the result.
GradPlanes max_pool2d_grad_planes(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                  const Pool2dGeometry& pool);

}  // namespace qg::kernel
