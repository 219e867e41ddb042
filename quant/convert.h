// convert(): a frozen QAT/PTQ model -> an integer-only runtime::Model (the tutorial's freeze() +
// quantize_inference(), made deployable).
//
// Each QAT layer converts itself (QatLayer::convert, PyTorch's per-module `convert`): a conv or linear into
// its runtime op with weight codes, int32 bias and output stage (quant/integer_layer.h), a BatchNorm after a
// conv folded into it with its running statistics (quant/bn_fold.h), any other BatchNorm into the
// per-channel op runtime::MulAdd, pools, ReLU and flatten into theirs. An activation that is a clamp on
// codes (ReLU: [Z, qmax]) right after a layer with an output stage becomes that stage's clamp instead of an
// op of its own (a fused ReLU). The model input is quantized with the input point of the first layer that has
// one (a conv, linear, lone BatchNorm or average pool; ReLU, max pooling and flatten before it run on the
// codes). The dataset normalisation is folded into the input quantization, so the runtime takes raw 0..255
// pixels.
//
// convert() may use floats: it runs once, offline. The runtime it produces does not.
#pragma once

#include <string>
#include <vector>

#include "quant/integer_layer.h"
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

}  // namespace qg::quant
