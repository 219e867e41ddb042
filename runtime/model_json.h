// The JSON form of a Model: the header of a model file plus its tensor data section.
//
// The header holds the structure, shapes, quantization parameters and requantization multipliers; each
// weight or bias refers by index to an entry of the header's "tensors" table, which locates its bytes
// in the data section. The full schema is in docs/runtime.md ("Header JSON"). In short:
//
//   {"input":   {"shape": [1,28,28], "quant": Q, "mean": [0.1307], "std": [0.3081]},
//    "ops":     [{"type": "conv2d", "in_channels": 1, "out_channels": 8, "groups": 1, "kernel": [3,3],
//                 "stride": [1,1], "padding": [0,0], "dilation": [1,1], "input_quant": Q,
//                 "weight": {"tensor": 0, "bits": 4, "signed": false, "scales": [..], "zero_points": [..]},
//                 "bias": {"tensor": 1} or null,
//                 "output_stage": {"output_quant": Q, "clamp": [lo, hi], "real_multipliers": [..],
//                                  "multipliers": [[M0, shift], ..]}},
//                {"type": "relu"}, {"type": "max_pool2d", "kernel": .., "stride": .., "padding": ..},
//                {"type": "add", "inputs": [1, 3], "input_quants": [Q, Q], "output_quant": Q,
//                 "clamp": [lo, hi]},
//                ...],
// An op's "inputs" (the values it reads: 0 the model input, j + 1 the output of op j; format version 3) is
// written only where it is not [i], the value just before op i: a chain is written exactly as before graphs.
//    "output":  {"quant": Q},
//    "metadata": {...},
//    "tensors": [{"name": "ops/0/weight", "dtype": "uint4", "shape": [8,1,3,3], "offset": 0, "length": 36},
//    ..]}
//   Q = {"scale": 0.0123, "zero_point": 7, "bits": 8, "signed": false}
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/model.h"

namespace qg::runtime {

struct EncodedModel {
  nlohmann::json header;
  std::vector<uint8_t> data;  ///< the tensors, back to back, weights packed at their bit width
};

/// Validates `model` (plan_model) and encodes it.
EncodedModel encode_model(const Model& model);

/// Decodes and validates a model. Throws JsonFieldError naming the JSON path of a malformed or missing
/// field (an op's "inputs" naming a value not made before it, or too few or too many for the op, included)
/// or of a tensor whose bytes are out of bounds, of the wrong size or hold out-of-range codes, and
/// std::invalid_argument (from plan_model, naming the op) when the decoded model is inconsistent.
Model decode_model(const nlohmann::json& header, std::span<const uint8_t> data);

}  // namespace qg::runtime
