// Explain: one output element of one op, derived step by step for one input sample with the runtime's own
// functions, and checked against what run() computes (`qinfer --model M.qgm --explain 0:3,10,12 --index 7`).
//
// For a conv2d, linear or mul_add layer the steps are gemmlowp's (doc/quantization_example.cc, and
// doc/low-precision.md "the offsets"): over the n products of the receptive field that lie inside the input
// (padding holds Z_x and contributes 0),
// clang-format off
//
//   sum (q_x - Z_x)(q_w - Z_w) = sum q_x q_w  -  Z_w sum q_x  -  Z_x sum q_w  +  n Z_x Z_w
//   acc = bias + that                                                               (int32, exact)
//   acc * M0                                                                         (int64, exact)
//   r   = round(acc M0 / 2^(31 - shift))   one rounding, half away from zero: multiply_by_quantized_multiplier
//         (gemmlowp's two steps, SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, shown beside it)
//   q   = clamp(r + Z_out, clamp_min, clamp_max)
//
// clang-format on
// with the real values beside them: S_in S_w acc (the exact real output before any rounding), Z_out + M acc
// (the code before rounding) and S_out (q - Z_out). add, concat, pools, relu, clip and flatten are derived
// the same way with their own functions (add_code's steps, concat_code, divide_round_half_away, ...).
//
// The input values of the op come from run() on the model cut after the op that makes them, and run() on the
// model cut after the op itself gives the runtime's code, which the derivation must equal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/int_tensor.h"
#include "runtime/model.h"
#include "runtime/output_stage.h"

namespace qg::runtime {

/// One element of one op's output: op index and the flat index into its per-sample output.
struct ElementIndex {
  size_t op = 0;
  int64_t flat = 0;
};

/// Parses "L:C,Y,X" (an op with a [C,H,W] output), "L:J" (a flat [F] output) or "L:#F" (the flat index F into
/// any output, channel-major). L is the op's index as --describe numbers it. Throws std::invalid_argument
/// naming the text and what was expected, e.g. "--explain 2:9,0,0: channel 9 is outside [0, 8) of op 2
/// (max_pool2d) output [8,13,13]" (and as plan_model when the model is invalid).
ElementIndex parse_element_index(const std::string& text, const Model& model);

/// "[3,10,12]" or "[7]": the element's coordinates in the op's output shape.
std::string element_coordinates(const ElementIndex& element, const Dims& shape);

/// One step of a derivation: what is computed, how, and its value (an integer, a real or a text).
struct ExplainStep {
  std::string what;      ///< e.g. "sum q_x*q_w"
  nlohmann::json value;  ///< an integer, a double or a string
};

struct Explanation {
  ElementIndex element;
  std::string op;                  ///< op_name
  std::string coordinates;         ///< element_coordinates
  std::vector<ExplainStep> steps;  ///< in order; the last gives `derived`
  int32_t derived = 0;             ///< the code the steps arrive at
  int32_t runtime = 0;             ///< the code run() computed for the element
  double real = 0.0;               ///< S_out (derived - Z_out)

  bool matches() const { return derived == runtime; }
};

/// Derives `element` for the one sample `input` ([1, <model input shape>] codes, e.g. quantize_pixels of one
/// image), in `mode` (the requantization run() uses for conv2d, linear and mul_add). Throws
/// std::invalid_argument if the model is invalid or the input is not one sample of the model's input.
Explanation explain_element(const Model& model, const IntTensor& input, const ElementIndex& element,
                            RequantMode mode = RequantMode::Integer);

/// The codes of value `value` (0: the model input, i + 1: op i's output) for the samples `input`, as run()
/// computes them: run() on the model cut after op value - 1.
IntTensor value_codes(const Model& model, const IntTensor& input, int64_t value, RequantMode mode);

/// The derivation as aligned text lines, ending with the check against the runtime. Deterministic.
std::string explanation_text(const Explanation& explanation);

/// {"op_index", "op", "element", "flat", "steps": [{"what", "value"}], "derived", "runtime", "matches", "real"}.
nlohmann::json explanation_json(const Explanation& explanation);

}  // namespace qg::runtime
