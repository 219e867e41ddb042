// Concat: two or more activations joined along the channel axis — dim 0 of a sample, the C of [C, H, W] or
// the features of [F]; every other dimension must agree. Each input's codes are requantized to the output's
// quantization, as TFLite's quantized CONCATENATION (tensorflow/lite/kernels/concatenation.cc, and
// kernels/internal/reference/concatenation.h, ConcatenationWithScaling; ONNX Concat on axis 1 of NCHW):
// clang-format off
//
//   q_out = clamp(Z_out + round(M_k (q - Z_k)), qmin_out, qmax_out),   M_k = S_k / S_out
//   (q a code of input k)
//
// clang-format on
// TFLite evaluates round(q S_k/S_out - Z_k S_k/S_out) in float ("isn't fully quantized as it takes scale as
// a floating point value", its comment says); here M_k is a fixed-point multiplier (quantize_multiplier)
// applied by requantize_to_code (runtime/requantize.h), one rounding half away from zero, in integers only.
// An input whose quantization equals the output's is copied (M_k = 1 maps every code to itself); TFLite
// requires that of every int8 input.
//
// concat_code() is the computation for one element: the kernels call it, and the fake-quant model in quant/
// calls it to be bit-exact with this op.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/quant_params.h"
#include "runtime/requantize.h"

namespace qg::runtime {

/// How one input of a concat maps its codes onto the output's (made offline by make_concat_input_params).
struct ConcatInputParams {
  int32_t input_zero_point = 0;    ///< Z_k
  QuantizedMultiplier multiplier;  ///< M_k = S_k / S_out in fixed point
  int32_t output_zero_point = 0;   ///< Z_out
  int32_t output_min = 0;          ///< the output's code range
  int32_t output_max = 255;
  bool identity = false;  ///< the input's quantization equals the output's: codes are copied

  friend bool operator==(const ConcatInputParams&, const ConcatInputParams&) = default;
};

/// Offline: the parameters of an input quantized as `input` in a concat whose output is quantized as
/// `output`. Throws std::invalid_argument if either is not a valid activation's or S_k / S_out >= 2^30.
ConcatInputParams make_concat_input_params(const QuantParams& input, const QuantParams& output);

/// The output code of the input code `code` (within its input's code range): the formula above.
inline int32_t concat_code(int32_t code, const ConcatInputParams& p) {
  return requantize_to_code(code - p.input_zero_point, p.multiplier, p.output_zero_point, p.output_min,
                            p.output_max);
}

struct Concat {
  static constexpr const char* kName = "concat";
  static constexpr uint32_t kFormatVersion = 3;  ///< the model-file version that introduced the op
  static constexpr size_t kMinInputs = 2;        ///< reads two values or more
  static constexpr size_t kMaxInputs = std::numeric_limits<size_t>::max();

  std::vector<QuantParams> input_quant;   ///< one per value read, in order
  QuantParams output_quant;               ///< the output's quantization
  std::vector<ConcatInputParams> params;  ///< make_concat_input_params of each input and the output

  /// The op joining inputs quantized as `inputs` into `output`. Throws std::invalid_argument as
  /// make_concat_input_params.
  static Concat make(const std::vector<QuantParams>& inputs, const QuantParams& output);

  /// [C_0, ...], [C_1, ...], ... -> [C_0 + C_1 + ..., ...]; throws std::invalid_argument on a mismatch.
  Dims output_shape(std::span<const Activation> inputs) const;
  /// The activation this op makes of `inputs` (one per input_quant, with those quantizations), after
  /// validating its parameters against them (params must equal make_concat_input_params of the rest). Throws
  /// std::invalid_argument with a message that does not yet name the op (the model adds that).
  Activation output(std::span<const Activation> inputs) const;
  /// One sample: `values[k]` has inputs[k].shape, `output` the shape output() gave.
  void forward(std::span<const Activation> inputs, std::span<const std::span<const int32_t>> values,
               std::span<int32_t> output, const OpContext& context) const;
  /// The op's fields of the model file's header ("type" and "inputs" are added by the caller):
  /// "input_quants", "output_quant".
  nlohmann::json encode(TensorWriter& tensors, const std::string& prefix) const;
  /// The inverse of encode; errors name the field's JSON path.
  static Concat decode(const JsonField& f, const TensorReader& tensors);
};

/// concat_code element by element, input after input (the channels of input k follow those of input k - 1:
/// the layout is channel-major, so each input is one contiguous block of the output).
void concat_reference(const Concat& op, std::span<const std::span<const int32_t>> values,
                      std::span<int32_t> output);
/// The same result: identity inputs copied, the others through concat_code in a loop the compiler vectorises.
void concat_fast(const Concat& op, std::span<const std::span<const int32_t>> values,
                 std::span<int32_t> output);

}  // namespace qg::runtime
