// MaxPool2d: the largest code in each window, per channel.
//
// Because q -> S (q - Z) is increasing (S > 0), the max of the codes is the code of the max of the reals,
// so max pooling needs no requantization: input and output share their QuantParams. Padding is ignored
// (PyTorch pads with -inf), which is why padding must be at most half the kernel: every window then
// holds at least one real element. Dilation is not supported (it must stay [1,1]).
#pragma once

#include <cstdint>
#include <span>

#include "runtime/dims.h"
#include "runtime/window2d.h"

namespace qg::runtime {

struct MaxPool2d {
  static constexpr const char* kName = "max_pool2d";

  Window2d window;  ///< kernel, stride (PyTorch's default stride is the kernel size), padding

  /// [C,H,W] -> [C,OH,OW]; throws std::invalid_argument on a bad input or window.
  Dims output_shape(const Dims& input_shape) const;
};

void max_pool2d_reference(const MaxPool2d& op, const Dims& input_shape, std::span<const int32_t> input,
                          std::span<int32_t> output);

/// The same result; windows of 2x2 with stride 2 and no padding (the usual one) as vectorised loops, any
/// other window through max_pool2d_reference.
void max_pool2d_fast(const MaxPool2d& op, const Dims& input_shape, std::span<const int32_t> input,
                     std::span<int32_t> output);

}  // namespace qg::runtime
