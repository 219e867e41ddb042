// The integer form of a conv, linear or lone BatchNorm: what their convert() (quant/qat/) shares.
//
// For a layer with input (S1, Z1), weights (S2, Z2) and output (S3, Z3):
//   * weight codes  q2 = clamp(round(W / S2 + Z2)) — the very codes FakeQuantize used in training;
//   * bias          q_b = round(b / (S1 S2)), int32, zero point 0 — the accumulator's own scale (a bias
//                   that needs a code beyond int32 is refused, naming the layer, never saturated);
//   * output stage  M = S1 S2 / S3 as a fixed-point multiplier (runtime/requantize.h), clamp to
//                   [qmin, qmax], or to [Z3, qmax] with a fused ReLU, narrowed by a fused activation's clamp.
// These may use floats: convert() runs once, offline.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/layers/conv2d.h"
#include "quant/qat/qat_layer.h"
#include "quant/qparams.h"
#include "runtime/ops/conv2d.h"
#include "runtime/output_stage.h"
#include "runtime/quantized_weights.h"

namespace qg::quant {

/// quant::QParams (per tensor) -> the runtime's QuantParams. Throws std::invalid_argument for per-channel
/// parameters (activations are quantized per tensor).
runtime::QuantParams to_runtime(const QParams& params);

/// The code of a fake-quantized value x on the grid `q`: Z + round(x / S), exact for x = S (code - Z) computed
/// in float (what QAdd and QConcat hand to the integer ops' scalar functions). x must be finite.
int32_t code_of(float x, const runtime::QuantParams& q);

/// code_of for every value: codes[i] = code_of(x[i], q) for every finite x[i] with |x[i] / S| < 2^30, in a
/// loop compiled per instruction set (what QAdd runs on whole tensors). Other values (NaN, infinities, values
/// far off the grid) get a code the caller must not use: Z ± 2^30. `codes` has x's size.
void codes_of(std::span<const float> x, const runtime::QuantParams& q, std::span<int32_t> codes);

/// Weight codes exactly as FakeQuantize computed them (same float arithmetic and rounding), with `qw`'s
/// scales and zero points.
runtime::QuantizedWeights weight_codes(const Tensor& weight, const QParams& qw);

/// The parts every conv/linear layer has: weight codes, int32 bias, output stage.
struct QuantizedAffine {
  runtime::QuantizedWeights weight;
  std::vector<int32_t> bias;
  runtime::OutputStage stage;
};

/// `weight` [C_out, ...] and `bias` [C_out] (or undefined: zeros) of a layer whose input has `input`
/// quantization, weights `qw` and output `qo`; `fused_relu` clamps at Z3. Throws std::invalid_argument
/// "convert: <layer>: ..." when a bias needs a code beyond int32 (issue 10, item 3: saturating it would
/// silently change the bias, and widening the weight scale would make the integer model differ from the
/// fake-quant model, whose requantization saturates there).
QuantizedAffine quantize_affine(const Tensor& weight, const Tensor& bias, const QParams& qw,
                                const runtime::QuantParams& input, const QParams& qo, bool fused_relu,
                                const std::string& layer);

/// Narrows `stage`'s clamp to `clamp` (a fused activation's codes), if given.
void narrow_clamp(runtime::OutputStage& stage, const std::optional<ClampCodes>& clamp);

/// The runtime conv of `conv`'s geometry with `weight` and `bias` (the conv's own, or BatchNorm-folded).
runtime::Conv2d integer_conv2d(const nn::Conv2d& conv, const Tensor& weight, const Tensor& bias,
                               const QParams& qw, const QParams& qo, bool fused_relu,
                               const ConvertStep& step);

/// A square window of the runtime: [k, k], [s, s], [p, p], [d, d].
runtime::Window2d square_window(int64_t kernel, int64_t stride, int64_t padding, int64_t dilation);

}  // namespace qg::quant
