// MaxPool2d: the largest code in each window, per channel.
//
// Because q -> S (q - Z) is increasing (S > 0), the max of the codes is the code of the max of the reals,
// so max pooling needs no requantization: input and output share their QuantParams. Padding is ignored
// (PyTorch pads with -inf), which is why padding must be at most half the kernel: every window then
// holds at least one real element. Dilation is not supported (it must stay [1,1]).
#pragma once

#include <cstdint>
#include <span>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/window2d.h"

namespace qg::runtime {

struct MaxPool2d {
  static constexpr const char* kName = "max_pool2d";
  static constexpr uint32_t kFormatVersion = 1;  ///< the model-file version that introduced the op

  Window2d window;  ///< kernel, stride (PyTorch's default stride is the kernel size), padding

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
  static MaxPool2d decode(const JsonField& f, const TensorReader& tensors);
};

void max_pool2d_reference(const MaxPool2d& op, const Dims& input_shape, std::span<const int32_t> input,
                          std::span<int32_t> output);

/// The same result; windows of 2x2 with stride 2 and no padding (the usual one) as vectorised loops, any
/// other window in two one-dimensional passes (separable_pool.h).
void max_pool2d_fast(const MaxPool2d& op, const Dims& input_shape, std::span<const int32_t> input,
                     std::span<int32_t> output);

}  // namespace qg::runtime
