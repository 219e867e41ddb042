// Flatten: one sample [C,H,W] (or any shape) -> [C*H*W], keeping channel-major order like
// torch.flatten(x, 1). The codes and their QuantParams are unchanged.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"

namespace qg::runtime {

struct Flatten {
  static constexpr const char* kName = "flatten";
  static constexpr uint32_t kFormatVersion = 1;  ///< the model-file version that introduced the op

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
  static Flatten decode(const JsonField& f, const TensorReader& tensors);
};

void flatten_reference(std::span<const int32_t> input, std::span<int32_t> output);

}  // namespace qg::runtime
