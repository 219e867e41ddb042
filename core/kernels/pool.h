// 2-D max and average pooling kernels over [N, C, H, W] with square windows (non-differentiable;
// nn/functional/pooling.cpp wraps them as autograd Functions).
//
// Output element (n, c, oh, ow) looks at the window of input rows oh*stride - padding + [0, kernel) and
// columns ow*stride - padding + [0, kernel). Positions in the padding never win a max (they are -inf) and
// add 0 to an average whose divisor is always kernel*kernel (PyTorch's count_include_pad=True).
//
// The planes (n, c) are shared between threads. Max pooling with kernel 2, stride 2 and no padding (the
// tutorial's) has its own loops: every input element belongs to at most one window, so the backward pass
// writes each element of the input gradient exactly once instead of zero-filling and scattering. Every
// other window takes a row at a time, one pass over the row's outputs per window position (pool.cpp); the
// *_reference functions are the plain one-output-at-a-time loops both are tested against.
#pragma once

#include <cstdint>

#include "core/buffer_cache.h"
#include "core/tensor.h"

namespace qg::kernel {

struct Pool2dGeometry {
  int64_t batch = 0, channels = 0, in_height = 0, in_width = 0;
  int64_t kernel = 1, stride = 1, padding = 0;
  int64_t out_height = 0, out_width = 0;
};

/// Geometry for pooling an input of shape [N, C, H, W]; options must already be validated
/// (nn::functional checks them) so that the output is at least 1x1.
Pool2dGeometry pool2d_geometry(const Shape& input, int64_t kernel, int64_t stride, int64_t padding);

/// For every output element, where its maximum is inside its window: dh * kernel + dw, with (dh, dw) the
/// row and column in the (unclipped) window. Ties go to the first maximum in row-major window order; a NaN
/// wins (as in PyTorch). A position takes one byte when a window has at most 256 positions (kernel <= 16:
/// `small`), else four (`large`); the other buffer is empty. One byte instead of a four-byte plane index is
/// a quarter of the memory traffic in both passes.
struct MaxPool2dArgmax {
  Buffer<uint8_t> small;
  Buffer<int32_t> large;
};
struct MaxPool2dResult {
  Tensor output;
  MaxPool2dArgmax argmax;
};
MaxPool2dResult max_pool2d_forward(const Tensor& input, const Pool2dGeometry& g);
/// An uninitialised output [N, C, H_out, W_out] and an argmax buffer of the right width for g.
MaxPool2dResult max_pool2d_empty_result(const Pool2dGeometry& g);
/// Routes each output gradient to its argmax (adding where windows overlap, in output order).
Tensor max_pool2d_backward(const Tensor& grad_output, const MaxPool2dArgmax& argmax, const Pool2dGeometry& g);

/// The same two passes on planes [first, end) of the batch (plane = n * C + c), on the calling thread, with
/// the pooled input given and the input gradient returned in scratch instead of batch tensors: `planes`
/// holds the input planes first..end-1 one after the other ([end - first, H, W]), and the forward pass
/// writes those planes of `output` (the whole [N, C, H_out, W_out] output) and of `argmax` (sized for the
/// whole batch); the backward pass writes their input gradient into `grad_planes` ([end - first, H, W]).
/// For a producer that makes its output an image at a time and pools it while it is in cache
/// (conv_max_pool.h). Same values as max_pool2d_forward / max_pool2d_backward.
void max_pool2d_forward_planes(const float* planes, const Pool2dGeometry& g, int64_t first, int64_t end,
                               float* output, MaxPool2dArgmax& argmax);
void max_pool2d_backward_planes(const float* grad_output, const MaxPool2dArgmax& argmax,
                                const Pool2dGeometry& g, int64_t first, int64_t end, float* grad_planes);

/// Output [N, C, H_out, W_out]: the window sums / (kernel*kernel), each sum added from 0 in row-major window
/// order.
Tensor avg_pool2d_forward(const Tensor& input, const Pool2dGeometry& g);
/// Spreads each output gradient / (kernel*kernel) over the in-image positions of its window (adding where
/// windows overlap, in output order).
Tensor avg_pool2d_backward(const Tensor& grad_output, const Pool2dGeometry& g);

/// The reference paths: the definitions above as plain loops, one output at a time. The fast paths are
/// bit-identical to them (same comparisons and additions in the same order).
MaxPool2dResult max_pool2d_forward_reference(const Tensor& input, const Pool2dGeometry& g);
Tensor max_pool2d_backward_reference(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                     const Pool2dGeometry& g);
Tensor avg_pool2d_forward_reference(const Tensor& input, const Pool2dGeometry& g);
Tensor avg_pool2d_backward_reference(const Tensor& grad_output, const Pool2dGeometry& g);

}  // namespace qg::kernel
