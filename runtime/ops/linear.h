// Linear: integer fully connected layer with requantized output.
//
//     acc_j = bias[j] + sum_k (q1[k] - Z1) * (q2[j, k] - Z2[j])
//     q3_j  = clamp(Z3 + M_j * acc_j, clamp_min, clamp_max)            (see OutputStage)
//
// The input is one flat sample [in_features] (put a Flatten before it after a conv).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/output_stage.h"
#include "runtime/quant_params.h"
#include "runtime/quantized_weights.h"
#include "runtime/scratch.h"

namespace qg::runtime {

struct Linear {
  static constexpr const char* kName = "linear";
  static constexpr uint32_t kFormatVersion = 1;  ///< the model-file version that introduced the op

  int64_t in_features = 0;
  int64_t out_features = 0;
  QuantParams input_quant;    ///< the incoming activation's quantization
  QuantizedWeights weight;    ///< [out_features, in_features]
  std::vector<int32_t> bias;  ///< [out_features] at scale S1 * S2[j], zero point 0; empty = no bias
  OutputStage output_stage;

  /// [in_features] -> [out_features]; throws std::invalid_argument on a mismatch.
  Dims output_shape(const Dims& input_shape) const;
  /// Validates the layer's own parameters and that `incoming` equals input_quant; returns output quant.
  QuantParams output_quant(const QuantParams& incoming) const;

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
  static Linear decode(const JsonField& f, const TensorReader& tensors);
};

/// The definition above, loop by loop.
void linear_reference(const Linear& op, std::span<const int32_t> input, std::span<int32_t> output,
                      RequantMode mode);

/// (q1 - Z1) converted once to int16, then per output an int16 dot product with the raw weight codes,
/// corrected by Z2[j] * sum(q1 - Z1). Bit-exact with linear_reference.
void linear_fast(const Linear& op, std::span<const int32_t> input, std::span<int32_t> output,
                 RequantMode mode, Scratch& scratch);

}  // namespace qg::runtime
