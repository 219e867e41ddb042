// 2-D convolution (really cross-correlation, as in every DL framework), with stride, zero padding,
// dilation and groups. Input [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW], bias [C_out] or
// undefined. Output [N, C_out, H_out, W_out] with
//   H_out = floor((H + 2*padding - dilation*(kH-1) - 1) / stride) + 1   (likewise W_out).
// Computed as im2col + one GEMM per group (core/kernels/conv.h). Mismatched shapes, bad options or an empty
// output throw std::invalid_argument naming the shapes, e.g.
//   conv2d: input has 3 channels but weight expects 1 (input [64,3,28,28], weight [40,1,3,3])
#pragma once

#include <cstdint>

#include "core/kernels/conv.h"
#include "core/tensor.h"

namespace qg::nn::functional {

struct Conv2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
};

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& options = {});

/// The kernel geometry of conv2d(input, weight, bias, options), after the checks conv2d makes (it throws
/// the same std::invalid_argument).
kernel::Conv2dGeometry checked_conv2d_geometry(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                               const Conv2dOptions& options);

/// Output spatial size of a convolution or pooling window along one axis; throws if it would be < 1.
int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                         const char* op);

}  // namespace qg::nn::functional
