// Max and average pooling over [N, C, H, W] with square windows. stride 0 means stride = kernel_size
// (PyTorch's default). Padding pads with -inf for max pooling and with zeros (counted in the divisor,
// PyTorch's count_include_pad=True) for average pooling. Max pooling's gradient goes to the first maximum
// of each window (as PyTorch). As in PyTorch, padding may be at most kernel_size/2: larger padding, a
// non-4-D input or an empty output throw std::invalid_argument.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace qg::nn::functional {

struct Pool2dOptions {
  int64_t kernel_size = 2;
  int64_t stride = 0;
  int64_t padding = 0;
  int64_t effective_stride() const { return stride > 0 ? stride : kernel_size; }
};

Tensor max_pool2d(const Tensor& input, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& input, const Pool2dOptions& options);

}  // namespace qg::nn::functional
