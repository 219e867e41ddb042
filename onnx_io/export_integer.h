// Exporting quantgrad's integer model (runtime::Model, a .qgm file) as a standard ONNX graph (opset 13, the
// "QOperator" form: QLinearConv on 8-bit codes, QuantizeLinear / DequantizeLinear at the edges), so that ONNX
// Runtime or any other ONNX runtime can run it. docs/onnx.md, "Integer models out", has the full table; in
// short, per quantgrad op:
//
//   input quantize   float input (normalised, x = (p/255 - mean) / std) -> QuantizeLinear (S_in, Z_in)
//   conv2d           QLinearConv (int32 bias, per-channel w_scale) [-> Clip on codes for a fused ReLU]
//   linear           Reshape [N,K] -> [N,K,1,1] -> QLinearConv 1x1 -> Flatten [N,M]      [-> Clip]
//   mul_add          QLinearConv 1x1, group = C (depthwise, one weight per channel)      [-> Clip]
//   max_pool2d       MaxPool on codes;  relu, clip -> Clip on codes;  flatten -> Flatten(axis 1)
//   avg_pool2d       DequantizeLinear (scale 1, Z) -> AveragePool (count_include_pad) -> QuantizeLinear
//   add              DequantizeLinear a, b -> Add -> QuantizeLinear (S_out, Z_out)       [-> Clip]
//   concat           Concat on codes when every input is on the output's grid, else
//                    DequantizeLinear each -> Concat -> QuantizeLinear                   [-> Clip]
//   output           graph outputs "codes" (the last op's codes) and "logits" = DequantizeLinear(codes)
//
// Activations travel as uint8 (unsigned codes) or int8 (signed codes). Codes of fewer than 8 bits lie in the
// narrower range of the same type; wherever an ONNX op's saturation range ([0, 255] or [-128, 127]) is wider
// than quantgrad's clamp, a Clip on codes follows, so that the codes are exactly quantgrad's.
//
// Weights: QLinearConv takes one weight zero point (ONNX Runtime enforces that per-channel weights share it),
// and an 8-bit type matching the activations' (uint8 weights with uint8 activations, int8 with int8). The
// codes are rewritten as (q - Z_c) + Z' for one common zero point Z' where that fits the type (exact: only
// q - Z_c enters the sum); a layer whose offsets q - Z_c span more than 255 codes becomes the QDQ form instead
// (DequantizeLinear of codes, weights and bias -> float Conv -> QuantizeLinear), which rounds in float.
//
// The one numeric difference: ONNX Runtime requantizes with a float multiplier S1 S2 / S3 and rounds half to
// even; quantgrad with a fixed-point M0 2^-n, rounding half away from zero (runtime/requantize.h). Codes can
// differ by one where the product lands at or next to a tie: onnx_agreement.h measures it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model.h"

namespace qg::onnx_io {

/// What one quantgrad op became: the ONNX op types emitted for it, in order, and a note on any choice made
/// (weight codes rewritten, QDQ form).
struct ExportedOp {
  size_t index = 0;               ///< the op's index in model.ops
  std::string op;                 ///< quantgrad's op name ("conv2d")
  std::vector<std::string> onnx;  ///< e.g. {"QLinearConv", "Clip"}
  std::string note;               ///< "" or a short explanation
};

struct IntegerExport {
  std::vector<ExportedOp> ops;      ///< one per model op, in order
  std::vector<std::string> input;   ///< the ONNX ops of the input quantization
  std::vector<std::string> output;  ///< the ONNX ops of the outputs
  int64_t nodes = 0;                ///< ONNX nodes in the graph
  int64_t qdq_layers = 0;           ///< conv-like ops exported in the QDQ form
};

struct IntegerExportOptions {
  std::string source;  ///< where the model came from (a .qgm path), recorded in the ONNX doc string
};

/// Exports `model` as an ONNX file at `onnx_path` (written atomically, after ONNX's checker and strict shape
/// inference accept it). Graph input "input": float32 [N, <model.input.shape>], the normalised values; graph
/// outputs "logits" (float32 [N, <output shape>]) and "codes" (uint8 or int8, the same shape). The model's
/// metadata and normalisation go to the ModelProto's metadata_props. Throws OnnxError naming `onnx_path` and
/// the op (index and name) when the model is invalid (runtime::plan_model's message) or ONNX's checker refuses
/// the graph, and std::runtime_error naming the path when the file cannot be written (nothing is left behind).
IntegerExport export_integer_model(const runtime::Model& model, const std::string& onnx_path,
                                   const IntegerExportOptions& options = {});

/// The export as text: one line per quantgrad op, "op 3  conv2d      -> QLinearConv, Clip  (note)".
std::string export_summary_text(const IntegerExport& exported);

}  // namespace qg::onnx_io
