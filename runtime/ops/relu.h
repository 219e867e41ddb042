// ReLU on codes: max(q, Z). Code Z is real 0 and the map q -> S (q - Z) is increasing, so this is
// exactly max(r, 0) with the input's QuantParams kept. (A ReLU right after a conv or linear layer is
// usually fused into its OutputStage clamp instead.)
#pragma once

#include <cstdint>
#include <span>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/quant_params.h"

namespace qg::runtime {

struct ReLU {
  static constexpr const char* kName = "relu";
  static constexpr uint32_t kFormatVersion = 1;  ///< the model-file version that introduced the op

  /// Any shape; the output has the same, and the same quantization.
  Dims output_shape(const Dims& input_shape) const { return input_shape; }

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
  static ReLU decode(const JsonField& f, const TensorReader& tensors);
};

void relu_reference(const QuantParams& input_quant, std::span<const int32_t> input,
                    std::span<int32_t> output);

}  // namespace qg::runtime
