// Clip on codes: q -> clamp(q, clamp_min, clamp_max), keeping the input's quantization (ONNX Clip, with min
// and max given as codes). It is what a ReLU6 (clamp_min = Z, clamp_max = the code of 6) or a ReLU becomes
// when it cannot be fused into the output stage of the layer before it (a conv's, a linear's, a mul_add's or
// an add's clamp), e.g. after a pool or a concat. q -> S (q - Z) is increasing, so clamping the codes clamps
// the reals: min(max(r, S (clamp_min - Z)), S (clamp_max - Z)).
#pragma once

#include <cstdint>
#include <span>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/quant_params.h"

namespace qg::runtime {

struct Clip {
  static constexpr const char* kName = "clip";
  static constexpr uint32_t kFormatVersion = 3;  ///< the model-file version that introduced the op

  int32_t clamp_min = 0;  ///< codes of the incoming activation, clamp_min <= clamp_max
  int32_t clamp_max = 255;

  /// The activation this op makes of `incoming` (the same shape and quantization), after validating the range
  /// against its codes. Throws std::invalid_argument with a message that does not yet name the op.
  Activation output(const Activation& incoming) const;
  /// One sample: `input` has incoming.shape, `output` the same.
  void forward(const Activation& incoming, std::span<const int32_t> input, std::span<int32_t> output,
               const OpContext& context) const;
  /// The op's fields of the model file's header ("type" is added by the caller): "clamp": [min, max].
  nlohmann::json encode(TensorWriter& tensors, const std::string& prefix) const;
  /// The inverse of encode; errors name the field's JSON path.
  static Clip decode(const JsonField& f, const TensorReader& tensors);
};

/// clamp(q, clamp_min, clamp_max) element by element (a loop the compiler vectorises: no fast twin needed).
void clip_reference(const Clip& op, std::span<const int32_t> input, std::span<int32_t> output);

}  // namespace qg::runtime
