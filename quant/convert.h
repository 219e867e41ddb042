// convert(): a frozen QAT/PTQ model -> an integer-only runtime::Model (the tutorial's freeze() +
// quantize_inference(), made deployable).
//
// For every conv/linear layer with input (S1, Z1), weights (S2, Z2) and output (S3, Z3):
//   * weight codes  q2 = clamp(round(W / S2 + Z2)) — the very codes FakeQuantize used in training;
//   * bias          q_b = round(b / (S1 S2)), int32, zero point 0 — the accumulator's own scale (a bias
//                   that needs a code beyond int32 is refused, naming the layer, never saturated);
//   * output stage  M = S1 S2 / S3 as a fixed-point multiplier M0 2^-n (runtime/requantize.h), clamp to
//                   [qmin, qmax], or to [Z3, qmax] when a ReLU follows (the ReLU is fused, not a separate
//                   op).
// A BatchNorm after a conv is folded into it with its running statistics (quant/bn_fold.h); any other
// BatchNorm becomes the per-channel op runtime::MulAdd (QBatchNorm2d::to_integer). The model input is
// quantized with the input point of the first layer that has one (a conv, linear, lone BatchNorm or average
// pool; ReLU, max pooling and flatten before it run on the codes). The dataset normalisation is folded into
// the input quantization, so the runtime takes raw 0..255 pixels.
//
// convert() may use floats: it runs once, offline. The runtime it produces does not.
#pragma once

#include <string>
#include <vector>

#include "quant/qat_model.h"
#include "runtime/model.h"

namespace qg::quant {

struct ConvertOptions {
  std::vector<int64_t> input_shape;  // one sample, [C, H, W]
  double input_mean = 0.0;           // dataset normalisation x = (pixel / 255 - mean) / std
  double input_std = 1.0;
  nlohmann::json metadata = nlohmann::json::object();
};

/// Throws std::invalid_argument if `model` is not frozen or holds a layer the runtime cannot express: one
/// whose bias needs codes beyond int32, or whose int32 accumulator could overflow
/// (runtime/accumulator_bound.h); the message names the layer.
runtime::Model convert(const QatModel& model, const ConvertOptions& options);

/// quant::QParams (per tensor) -> the runtime's QuantParams.
runtime::QuantParams to_runtime(const QParams& params);

}  // namespace qg::quant
