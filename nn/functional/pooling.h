// Max and average pooling over [N, C, H, W] with square windows. stride 0 means stride = kernel_size
// (PyTorch's default). Padding pads with -inf for max pooling and with zeros (counted in the divisor,
// PyTorch's count_include_pad=True) for average pooling. Max pooling's gradient goes to the first maximum
// of each window (as PyTorch). As in PyTorch, padding may be at most kernel_size/2: larger padding, a
// non-4-D input or an empty output throw std::invalid_argument.
#pragma once

#include <cstdint>

#include "core/kernels/pool.h"
#include "core/tensor.h"

namespace qg::nn::functional {

struct Pool2dOptions {
  int64_t kernel_size = 2;
  int64_t stride = 0;
  int64_t padding = 0;
  int64_t effective_stride() const { return stride > 0 ? stride : kernel_size; }
};

Tensor max_pool2d(const Tensor& input, const Pool2dOptions& options);

/// The kernel geometry of pooling an input of shape `input` ([N, C, H, W]) with `options`, checked with
/// PyTorch's rules (see above); `op` names the operation in the std::invalid_argument thrown otherwise.
kernel::Pool2dGeometry checked_pool2d_geometry(const Shape& input, const Pool2dOptions& options,
                                               const char* op);
Tensor avg_pool2d(const Tensor& input, const Pool2dOptions& options);

/// Global average pooling, [N, C, H, W] -> [N, C, 1, 1]: the mean of each (n, c) plane,
///   y[n, c] = (1 / (H*W)) * sum over h, w of x[n, c, h, w]
/// (PyTorch's F.adaptive_avg_pool2d(x, 1), which computes x.mean((-1, -2), keepdim=True)). Backward:
///   dx[n, c, h, w] = dy[n, c] / (H*W).
/// Each plane is summed with eight float partial sums (simd::plane_sum), the planes spread over the
/// threads; the result does not depend on the thread count. Throws std::invalid_argument for a non-4-D
/// input or H or W of 0.
Tensor global_avg_pool2d(const Tensor& input);
/// The same mean as a plain loop summing in double, with no graph: the reference global_avg_pool2d is
/// tested against.
Tensor global_avg_pool2d_reference(const Tensor& input);

}  // namespace qg::nn::functional
