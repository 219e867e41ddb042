// AvgPool2d: the mean of each window, in integers, per channel.
//
// In reals the mean of S (q - Z) is S (mean(q - Z)), so the output keeps the input's (S, Z):
//     q_out = Z + round(sum_window (q - Z) / (kernel_h * kernel_w))
// Padding counts in the divisor with value Z (real 0), like PyTorch's default count_include_pad=True
// (with ceil_mode=False every window lies inside the padded image, so the divisor is always the kernel
// area). The division rounds half away from zero, the same rule as the fixed-point requantization.
// Dilation is not supported (it must stay [1,1]); padding is at most half the kernel, as in PyTorch.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/dims.h"
#include "runtime/quant_params.h"
#include "runtime/window2d.h"

namespace qg::runtime {

struct AvgPool2d {
  static constexpr const char* kName = "avg_pool2d";

  Window2d window;  ///< kernel, stride, padding

  /// [C,H,W] -> [C,OH,OW]; throws std::invalid_argument on a bad input or window.
  Dims output_shape(const Dims& input_shape) const;
};

/// round(numerator / denominator) for denominator > 0, ties away from zero, in integers.
int64_t divide_round_half_away(int64_t numerator, int64_t denominator);

void avg_pool2d_reference(const AvgPool2d& op, const QuantParams& input_quant, const Dims& input_shape,
                          std::span<const int32_t> input, std::span<int32_t> output);

}  // namespace qg::runtime
