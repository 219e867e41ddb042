// Max and average pooling over [N, C, H, W] with square windows. stride 0 means stride = kernel_size
// (PyTorch's default). Padding pads with -inf for max pooling and with zeros (counted in the divisor,
// PyTorch's count_include_pad=True) for average pooling.
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
