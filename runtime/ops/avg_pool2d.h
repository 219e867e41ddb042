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

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/quant_params.h"
#include "runtime/window2d.h"

namespace qg::runtime {

struct AvgPool2d {
  static constexpr const char* kName = "avg_pool2d";
  static constexpr uint32_t kFormatVersion = 1;  ///< the model-file version that introduced the op

  Window2d window;  ///< kernel, stride, padding

  /// [C,H,W] -> [C,OH,OW]; throws std::invalid_argument on a bad input or window.
  Dims output_shape(const Dims& input_shape) const;

  /// The activation this op makes of `incoming`, after validating its parameters against it. Throws
  /// std::invalid_argument with a message that does not yet name the op (the model adds that).
  Activation output(const Activation& incoming) const;
  /// One sample: `input` has incoming.shape, `output` the shape output() gave.
  void forward(const Activation& incoming, std::span<const int32_t> input, std::span<int32_t> output,
               const OpContext& context) const;
  /// The op's fields of the model file's header ("type" is added by the caller); its tensors go to `tensors`
  /// as "<prefix>/weight", "<prefix>/bias".
  nlohmann::json encode(TensorWriter& tensors, const std::string& prefix) const;
  /// The inverse of encode; errors name the field's JSON path.
  static AvgPool2d decode(const JsonField& f, const TensorReader& tensors);
};

/// round(numerator / denominator) for denominator > 0, ties away from zero, in integers.
int64_t divide_round_half_away(int64_t numerator, int64_t denominator);

void avg_pool2d_reference(const AvgPool2d& op, const QuantParams& input_quant, const Dims& input_shape,
                          std::span<const int32_t> input, std::span<int32_t> output);

/// The same result in two one-dimensional passes (separable_pool.h).
void avg_pool2d_fast(const AvgPool2d& op, const QuantParams& input_quant, const Dims& input_shape,
                     std::span<const int32_t> input, std::span<int32_t> output);

}  // namespace qg::runtime
