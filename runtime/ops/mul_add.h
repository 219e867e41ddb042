// MulAdd: a per-channel affine map on codes, y[c] = a[c] * x[c] + b[c]. It is what a BatchNorm2d that does
// not directly follow a conv becomes (a BatchNorm after a conv is folded into the conv instead): TFLite
// lowers such a BatchNorm to a MUL and an ADD with per-channel constants, ONNX calls it
// BatchNormalization in inference mode; here the two are one op, named after TFLite's pair.
//
// With the input (S1, Z1), the factors a[c] = S2[c] (q2[c] - Z2[c]) (one weight code per channel) and the
// output (S3, Z3), the real computation S3 (q3 - Z3) = a[c] S1 (q1 - Z1) + b[c] becomes, as for a conv:
// clang-format off
//
//   acc = bias[c] + (q2[c] - Z2[c]) * (q1 - Z1)         int32; bias[c] = round(b[c] / (S1 S2[c])), zero point 0
//   q3  = clamp(Z3 + M[c] * acc, clamp_min, clamp_max)  the OutputStage, M[c] = S1 S2[c] / S3
//
// clang-format on
// i.e. a depthwise 1x1 convolution with one weight per channel, written out without a window. The sign of
// a[c] is the sign of its weight code, its magnitude is carried by the per-channel multiplier M[c]:
// quant/qat/qbatch_norm2d.h quantizes a[c] to ±127 at the scale S2[c] = |a[c]| / 127, so that the bias is
// on a grid 127 times finer than one input step. A fused ReLU is the clamp at Z3, as for conv and linear.
//
// Input and output are one sample [C, H, W], C = channels.
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

namespace qg::runtime {

struct MulAdd {
  static constexpr const char* kName = "mul_add";
  static constexpr uint32_t kFormatVersion = 2;  ///< the model-file version that introduced the op

  int64_t channels = 0;
  QuantParams input_quant;    ///< the incoming activation's quantization
  QuantizedWeights weight;    ///< shape [channels]: one code per channel, per tensor or per channel
  std::vector<int32_t> bias;  ///< [channels] at scale S1 * S2[c], zero point 0; empty = no bias
  OutputStage output_stage;   ///< one multiplier per channel (or one)

  /// [channels, H, W] -> the same; throws std::invalid_argument on another shape.
  Dims output_shape(const Dims& input_shape) const;
  /// Validates the op's own parameters (weight shape [channels], bias size, output stage, the int32
  /// accumulator bound) and that `incoming` equals input_quant; returns the output quantization.
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
  static MulAdd decode(const JsonField& f, const TensorReader& tensors);
};

/// The definition above, element by element. `input_shape` is [channels, H, W]; `output` has its size.
void mul_add_reference(const MulAdd& op, const Dims& input_shape, std::span<const int32_t> input,
                       std::span<int32_t> output, RequantMode mode);

}  // namespace qg::runtime
