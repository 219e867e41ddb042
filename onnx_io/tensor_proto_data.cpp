#include "onnx_io/tensor_proto_data.h"

#include <cmath>
#include <cstring>

#include "onnx_io/model_proto_file.h"

namespace qg::onnx_io {

namespace {

OnnxError tensor_error(const onnx::TensorProto& tensor, const std::string& what, const std::string& detail) {
  return OnnxError(printable(what + ": tensor \"" + tensor.name() + "\": " + detail));
}

// The number of values the tensor's data holds, in raw_data (as bytes / element size) or its typed field.
int64_t present_elements(const onnx::TensorProto& tensor, size_t element_bytes) {
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() % element_bytes != 0) return -1;
    return static_cast<int64_t>(tensor.raw_data().size() / element_bytes);
  }
  return tensor.data_type() == onnx::TensorProto::FLOAT ? tensor.float_data_size() : tensor.int64_data_size();
}

}  // namespace

std::string element_type_name(int32_t type) {
  if (onnx::TensorProto_DataType_IsValid(type))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(type));
  return "type " + std::to_string(type);
}

void check_tensor_data(const onnx::TensorProto& tensor, const std::string& what) {
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL || tensor.external_data_size() > 0)
    throw tensor_error(tensor, what,
                       "its data is in an external file (data_location EXTERNAL), which is not read");
  if (tensor.has_segment()) throw tensor_error(tensor, what, "a segmented tensor is not supported");
  const int32_t type = tensor.data_type();
  if (type != onnx::TensorProto::FLOAT && type != onnx::TensorProto::INT64) {
    throw tensor_error(
        tensor, what,
        "element type " + element_type_name(type) +
            " is not supported (expected FLOAT or INT64; a quantized model? qimport reads float models)");
  }
  const int64_t elements = tensor_elements(tensor, what, kMaxImportElements);
  const int64_t present = present_elements(tensor, type == onnx::TensorProto::FLOAT ? 4 : 8);
  if (present != elements) {
    throw tensor_error(tensor, what,
                       "its dims give " + std::to_string(elements) + " elements but its data holds " +
                           (present < 0 ? "a partial element" : std::to_string(present)));
  }
}

FloatTensor read_float_tensor(const onnx::TensorProto& tensor, const std::string& what) {
  check_tensor_data(tensor, what);
  if (tensor.data_type() != onnx::TensorProto::FLOAT)
    throw tensor_error(tensor, what, "expected FLOAT values, found " + element_type_name(tensor.data_type()));
  FloatTensor out;
  out.dims.assign(tensor.dims().begin(), tensor.dims().end());
  if (tensor.has_raw_data()) {  // little-endian float32, as the ONNX spec says
    out.values.resize(tensor.raw_data().size() / 4);
    if (!out.values.empty()) std::memcpy(out.values.data(), tensor.raw_data().data(), out.values.size() * 4);
  } else {
    out.values.assign(tensor.float_data().begin(), tensor.float_data().end());
  }
  for (size_t i = 0; i < out.values.size(); ++i) {
    if (!std::isfinite(out.values[i]))
      throw tensor_error(tensor, what,
                         "element " + std::to_string(i) + " is " + std::to_string(out.values[i]));
  }
  return out;
}

std::vector<int64_t> read_int64_tensor(const onnx::TensorProto& tensor, const std::string& what) {
  check_tensor_data(tensor, what);
  if (tensor.data_type() != onnx::TensorProto::INT64)
    throw tensor_error(tensor, what, "expected INT64 values, found " + element_type_name(tensor.data_type()));
  if (!tensor.has_raw_data()) return {tensor.int64_data().begin(), tensor.int64_data().end()};
  std::vector<int64_t> values(tensor.raw_data().size() / 8);
  if (!values.empty()) std::memcpy(values.data(), tensor.raw_data().data(), values.size() * 8);
  return values;
}

}  // namespace qg::onnx_io
