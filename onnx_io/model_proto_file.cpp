#include "onnx_io/model_proto_file.h"

#include <limits>

#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"
#include "util/atomic_file.h"

namespace qg::onnx_io {

onnx::ModelProto parse_model_proto(std::string_view bytes, const std::string& what) {
  if (bytes.empty()) throw OnnxError(what + ": empty file, expected an ONNX model");
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw OnnxError(what + ": larger than protobuf's 2 GiB message limit");
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw OnnxError(what + ": not an ONNX model (protobuf parse failed: truncated or not a ModelProto)");
  return model;
}

onnx::ModelProto read_model_proto(const std::string& path) {
  std::string bytes;
  try {
    bytes = util::read_file(path, kMaxOnnxFileBytes);
  } catch (const std::exception& e) {
    throw OnnxError(e.what());
  }
  return parse_model_proto(bytes, path);
}

void check_model_proto(const onnx::ModelProto& model, const std::string& what) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    std::string message = e.what();
    // ONNX's messages can run over several lines (a node dump): the first says what is wrong.
    if (const size_t eol = message.find('\n'); eol != std::string::npos) message.resize(eol);
    throw OnnxError(what + ": ONNX checker: " + message);
  }
}

void write_model_proto(const std::string& path, const onnx::ModelProto& model) {
  check_model_proto(model, path);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw OnnxError(path + ": protobuf could not serialize the model");
  util::write_file_atomically(path, bytes);
}

int64_t tensor_elements(const onnx::TensorProto& tensor, const std::string& what, int64_t max_elements) {
  int64_t elements = 1;
  for (const int64_t d : tensor.dims()) {
    if (d < 0)
      throw OnnxError(what + ": tensor \"" + tensor.name() + "\" has a negative dim " + std::to_string(d));
    if (d != 0 && elements > max_elements / d) {
      throw OnnxError(what + ": tensor \"" + tensor.name() + "\" has more than " +
                      std::to_string(max_elements) + " elements");
    }
    elements *= d;
  }
  return elements;
}

}  // namespace qg::onnx_io
