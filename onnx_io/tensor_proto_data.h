// The values of an ONNX TensorProto (an initializer, or a Constant node's value), read defensively: the
// element count comes from the dims (tensor_elements, bounded) and is compared with the data actually in the
// file before anything is allocated, so a tensor claiming 2^40 elements over 16 bytes is refused, not
// allocated. Internal to onnx_io/ (includes ONNX's protobuf header).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace qg::onnx_io {

/// The most elements an imported tensor may have: 2^28, the largest tensor a config accepts.
inline constexpr int64_t kMaxImportElements = int64_t{1} << 28;

/// A float32 tensor: dims and row-major values.
struct FloatTensor {
  std::vector<int64_t> dims;
  std::vector<float> values;
};

/// Checks that the tensor's data is in the file (data_location is not EXTERNAL), that its element type is
/// FLOAT or INT64 and that the data holds exactly the element count of its dims (raw_data or the typed field).
/// Throws OnnxError "<what>: tensor "<name>": ..." otherwise.
void check_tensor_data(const onnx::TensorProto& tensor, const std::string& what);

/// A FLOAT tensor's values (check_tensor_data first), each finite. Throws OnnxError naming `what` and the
/// tensor for another type, or a NaN or infinite value (with its index).
FloatTensor read_float_tensor(const onnx::TensorProto& tensor, const std::string& what);

/// An INT64 tensor's values (check_tensor_data first). Throws OnnxError for another type.
std::vector<int64_t> read_int64_tensor(const onnx::TensorProto& tensor, const std::string& what);

/// ONNX's name of an element type: "FLOAT", "INT64", ...; "type <n>" for an unknown value.
std::string element_type_name(int32_t type);

}  // namespace qg::onnx_io
