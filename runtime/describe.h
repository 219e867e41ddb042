// Describe: every op of an integer model with the numbers that define its arithmetic, the way a student
// would check them by hand (`qinfer --model M.qgm --describe`).
//
// For a conv2d, linear or mul_add layer (docs/runtime.md, "Conv2d and Linear"):
// clang-format off
//
//   input (S_in, Z_in), weights (S_w[c], Z_w[c]), output (S_out, Z_out)
//   M[c] = S_in S_w[c] / S_out  ~=  M0[c] 2^(shift[c] - 31)     gemmlowp/TFLite QuantizeMultiplier: M0 in [2^30, 2^31)
//   q_out = clamp(Z_out + M[c] acc, clamp_min, clamp_max)        a fused ReLU is clamp_min = Z_out
//   |acc| <= |bias[c]| + A sum_k |q_w[c,k] - Z_w[c]|,            A = max |q_in - Z_in| over the input code range
//
// clang-format on
// The weight code range is the one the layer's codes actually use (not the range their bits allow), and the
// accumulator bound is runtime/accumulator_bound.h's, from those codes: the same numbers that let the model
// load. For add and concat the multipliers are those of make_add_params / make_concat_input_params.
//
// describe_model() gathers the numbers (tests compare them with the model), describe_text() and
// describe_json() print them; the text is deterministic (no addresses, times or paths).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/accumulator_bound.h"
#include "runtime/dims.h"
#include "runtime/model.h"
#include "runtime/quant_params.h"
#include "runtime/requantize.h"

namespace qg::runtime {

/// A real multiplier and its fixed-point form: real ~= fixed.multiplier * 2^(fixed.shift - 31).
struct DescribedMultiplier {
  std::string name;  ///< "M", "M_a", "M_out", "M_1" (input 1 of a concat), ...
  double real = 0.0;
  QuantizedMultiplier fixed;
};

/// One output channel of a conv2d, linear or mul_add layer.
struct ChannelDescription {
  double weight_scale = 0.0;       ///< S_w[c] (the one scale when per tensor)
  int32_t weight_zero_point = 0;   ///< Z_w[c]
  DescribedMultiplier multiplier;  ///< M[c] = S_in S_w[c] / S_out
  int32_t code_min = 0;            ///< the smallest weight code of the channel
  int32_t code_max = 0;            ///< the largest
  AccumulatorBound bound;          ///< channel_accumulator_bound: .accumulator is |acc|'s bound
};

/// The requantized arithmetic of a conv2d, linear or mul_add layer.
struct LayerDescription {
  QuantParams input;   ///< (S_in, Z_in)
  QuantParams output;  ///< (S_out, Z_out)
  int weight_bits = 8;
  bool weight_signed = false;
  bool per_channel = false;  ///< one (S_w, Z_w, M) per output channel
  int64_t products = 0;      ///< K: products summed per output
  int64_t input_offset = 0;  ///< A = max |q_in - Z_in|
  bool has_bias = false;
  int32_t clamp_min = 0;
  int32_t clamp_max = 0;
  std::vector<ChannelDescription> channels;  ///< one per output channel
  AccumulatorBound bound;                    ///< the layer's: accumulator_bound()

  /// clamp_min is Z_out: reals below 0 become 0, a ReLU fused into the output stage (when Z_out is the
  /// smallest code, the output grid itself holds no negative values and the clamp is the code range).
  bool fused_relu() const { return clamp_min == output.zero_point; }
  /// Every int32 intermediate fits (what loading the model checked).
  bool fits_int32() const;
  int32_t code_min() const;  ///< over all channels
  int32_t code_max() const;
};

/// One op of a model.
struct NodeDescription {
  size_t index = 0;                      ///< the op's position in model.ops
  std::string op;                        ///< op_name
  std::vector<int64_t> inputs;           ///< the values it reads (0: the model input, j + 1: op j's output)
  std::vector<Activation> input_values;  ///< their shapes and quantizations
  Activation output;                     ///< value index + 1
  std::string geometry;  ///< conv: "kernel [3,3], stride ..., groups 1"; pools: the window; else ""
  std::optional<LayerDescription> layer;             ///< conv2d, linear, mul_add
  std::vector<DescribedMultiplier> multipliers;      ///< add: M_a, M_b, M_out; concat: one per input
  std::optional<std::pair<int32_t, int32_t>> clamp;  ///< add, clip: [clamp_min, clamp_max]
};

/// The numbers of every op of `model` (validated first: throws std::invalid_argument like plan_model).
std::vector<NodeDescription> describe_model(const Model& model);

/// The description as text, one block per op, with the model input first. Deterministic.
std::string describe_text(const Model& model, const std::vector<NodeDescription>& nodes);

/// The description as JSON: {"input": {...}, "ops": [{"index", "op", "inputs", "output_shape", ...}]}.
nlohmann::json describe_json(const Model& model, const std::vector<NodeDescription>& nodes);

}  // namespace qg::runtime
