// Conv2d: integer 2-D convolution (stride, padding, dilation, groups) with requantized output.
//
// For output channel c of group g = c / (out_channels / groups) and output position (y, x):
//     acc = bias[c] + sum_{i in group g, t, u} (q1[i, y*s - p + t*d, x*s - p + u*d] - Z1) * (q2[c, i', t, u] - Z2[c])
//     q3  = clamp(Z3 + M_c * acc, clamp_min, clamp_max)                       (see OutputStage)
// Input positions outside the image are padding with the input zero point Z1, i.e. real 0, so they
// contribute nothing to the sum. Accumulation is int32 (check_accumulator_bound proves it cannot overflow).
//
// Activations are one sample, channel-major [C, H, W], each code held in an int32.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/ops/int8_kernels.h"
#include "runtime/output_stage.h"
#include "runtime/quant_params.h"
#include "runtime/quantized_weights.h"
#include "runtime/scratch.h"
#include "runtime/window2d.h"

namespace qg::runtime {

struct Conv2d {
  static constexpr const char* kName = "conv2d";
  static constexpr uint32_t kFormatVersion = 1;  ///< the model-file version that introduced the op

  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t groups = 1;
  Window2d window;            ///< kernel, stride, padding, dilation
  QuantParams input_quant;    ///< the incoming activation's quantization (Z1 pads; S1 is part of M)
  QuantizedWeights weight;    ///< [out_channels, in_channels / groups, kernel_h, kernel_w]
  std::vector<int32_t> bias;  ///< [out_channels] at scale S1 * S2[c], zero point 0; empty = no bias
  OutputStage output_stage;   ///< multipliers, output quantization, clamp (fused ReLU)

  /// [in_channels, H, W] -> [out_channels, OH, OW]; throws std::invalid_argument on a mismatch.
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
  static Conv2d decode(const JsonField& f, const TensorReader& tensors);
};

/// The definition above, loop by loop.
void conv2d_reference(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                      std::span<int32_t> output, RequantMode mode);

/// Bit-exact with conv2d_reference. Depthwise convolutions (groups == in_channels > 1) take the depthwise
/// path (conv2d_depthwise.h: a row of sums per tap, straight from the input plane). Other convolutions of
/// fewer than 65536 products per output (any stride, padding, dilation, groups) take the dot-product path (conv2d_dot.h: packed 8-bit products on AVX-512
/// VNNI, int16 pairs on AVX2 or in portable C++, whichever this CPU runs best); larger ones an im2col of
/// (q1 - Z1) into int16 rows, one int16 dot product per output with the raw weight codes, corrected by
/// Z2[c] * (row sum).
void conv2d_fast(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                 std::span<int32_t> output, RequantMode mode, Scratch& scratch);
/// The same with the dot-product path's instruction set chosen by the caller (tests compare all of them).
void conv2d_fast(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                 std::span<int32_t> output, RequantMode mode, Scratch& scratch, int8::Isa isa);

}  // namespace qg::runtime
