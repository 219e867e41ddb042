// The output size of a sliding window along one axis: how many positions a convolution or pooling window
// takes over an input of `input` positions (PyTorch's formula for Conv2d, MaxPool2d and AvgPool2d with
// ceil_mode=False):
//
//     output = floor((input + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1
//
// Output position o reads input positions o*stride - padding + t*dilation, t = 0 .. kernel-1; positions
// outside [0, input) are padding. This is the one definition: the float kernels (core/), their autograd ops
// (nn/), the config's shape inference (config/) and the integer runtime (runtime/) all call it.
#pragma once

#include <cstdint>

namespace qg::util {

/// The number of window positions along one axis, or 0 when the window (its extent dilation*(kernel-1)+1)
/// is larger than the padded input and fits not even once. Callers check the geometry first: kernel,
/// stride and dilation >= 1 and padding >= 0, each at most 2^30, and input < 2^31, so that no product
/// overflows.
constexpr int64_t window_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding,
                                     int64_t dilation = 1) {
  const int64_t extent = dilation * (kernel - 1) + 1;
  const int64_t room = input + 2 * padding - extent;
  return room < 0 ? 0 : room / stride + 1;
}

}  // namespace qg::util
