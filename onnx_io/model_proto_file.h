// Reading and writing ONNX files (ModelProto) with ONNX's own protobuf classes, and ONNX's checker.
//
// Internal to onnx_io/: this header includes ONNX's generated protobuf header, which the public headers keep
// out of their users' way (they speak in file paths, configs and quantgrad models).
//
// Reading is defensive, as for the other parsers (docs/ROBUSTNESS.md): the file size is bounded before it is
// read, protobuf parses from that buffer (so no length field can make it allocate beyond the file), a tensor
// whose dims do not match its data or whose data lives in an external file is refused, and every error is an
// OnnxError naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "onnx/onnx_pb.h"
#include "onnx_io/onnx_error.h"

namespace qg::onnx_io {

/// The largest ONNX file read (bytes): far beyond any model quantgrad trains, far below the machine's memory.
inline constexpr size_t kMaxOnnxFileBytes = size_t{1} << 30;

/// The opset (ai.onnx domain) the exporters write: QuantizeLinear/DequantizeLinear with per-axis scales
/// arrived in 13, QLinearConv in 10, MaxPool and Clip on 8-bit integers in 12. ONNX 1.12 (Debian's) knows up
/// to 17; ONNX Runtime runs 13 everywhere.
inline constexpr int64_t kExportOpset = 13;

/// Parses `bytes` as a ModelProto. Throws OnnxError "<what>: not an ONNX model (protobuf parse failed)" or
/// for an empty input.
onnx::ModelProto parse_model_proto(std::string_view bytes, const std::string& what);

/// Reads the file `path` (at most kMaxOnnxFileBytes) and parses it. Throws OnnxError naming the path.
onnx::ModelProto read_model_proto(const std::string& path);

/// Runs ONNX's checker (onnx::checker::check_model: the graph is well formed, every node matches its
/// operator's schema in the model's opset, initializers are consistent) and ONNX's strict shape and type
/// inference. Throws OnnxError "<what>: ONNX checker: <its message>".
void check_model_proto(const onnx::ModelProto& model, const std::string& what);

/// check_model_proto, then writes the serialized model to `path` atomically (util/atomic_file.h).
void write_model_proto(const std::string& path, const onnx::ModelProto& model);

/// The element count of `tensor` from its dims, or throws OnnxError "<what>: tensor "<name>": ..." for a
/// negative dim or a product beyond `max_elements`.
int64_t tensor_elements(const onnx::TensorProto& tensor, const std::string& what, int64_t max_elements);

}  // namespace qg::onnx_io
