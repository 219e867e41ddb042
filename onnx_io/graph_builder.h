// GraphBuilder: writes the nodes, initializers, inputs and outputs of an ONNX graph through ONNX's protobuf
// classes, so that the exporters read as the list of ONNX ops they emit. Internal to onnx_io/.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace qg::onnx_io {

/// A node attribute: an int, a list of ints, a float or a string (the kinds the exporters need).
struct Attribute {
  std::string name;
  enum class Kind { Int, Ints, Float, String } kind = Kind::Int;
  int64_t i = 0;
  std::vector<int64_t> ints;
  float f = 0;
  std::string s;

  static Attribute of(std::string name, int64_t value);
  static Attribute of(std::string name, std::vector<int64_t> values);
  static Attribute of(std::string name, float value);
  static Attribute of(std::string name, std::string value);
};

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  /// `base`, or `base_1`, `base_2`, ... : a value or node name not used yet in this graph.
  std::string unique(const std::string& base);

  /// Initializers (constant tensors); each returns its (unique) name.
  std::string add_float(const std::string& base, const std::vector<int64_t>& dims,
                        std::span<const float> values);
  std::string add_int32(const std::string& base, const std::vector<int64_t>& dims,
                        std::span<const int32_t> values);
  std::string add_int64(const std::string& base, const std::vector<int64_t>& dims,
                        std::span<const int64_t> values);
  /// 8-bit codes held as int32: `type` is onnx::TensorProto::UINT8 or INT8, every value must fit it.
  std::string add_codes(const std::string& base, const std::vector<int64_t>& dims,
                        std::span<const int32_t> values, int32_t type);
  /// A scalar float or 8-bit code (QuantizeLinear's scale and zero point, Clip's bounds).
  std::string add_scalar_float(const std::string& base, float value);
  std::string add_scalar_code(const std::string& base, int32_t value, int32_t type);

  /// Appends a node; returns its output names (made unique from `outputs`).
  std::vector<std::string> add_node(const std::string& op_type, const std::vector<std::string>& inputs,
                                    const std::vector<std::string>& outputs, const std::string& name,
                                    const std::vector<Attribute>& attributes = {});
  /// The same for a node with one output; returns its name.
  std::string add_node1(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::string& output, const std::string& name,
                        const std::vector<Attribute>& attributes = {});

  /// A graph input or output of element type `type` and shape [batch, sample...] with a symbolic batch "N".
  void add_input(const std::string& name, int32_t type, const std::vector<int64_t>& sample);
  void add_output(const std::string& name, int32_t type, const std::vector<int64_t>& sample);

 private:
  onnx::TensorProto& new_initializer(const std::string& base, const std::vector<int64_t>& dims, int32_t type);
  void add_value_info(onnx::ValueInfoProto& info, const std::string& name, int32_t type,
                      const std::vector<int64_t>& sample);

  onnx::GraphProto& graph_;
  std::set<std::string> used_;
};

/// An empty model of IR version 8 (ONNX 1.12) importing the ai.onnx opset `opset`, produced by quantgrad.
onnx::ModelProto make_model_proto(int64_t opset, const std::string& graph_name);

/// Adds metadata_props key = value.
void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value);

}  // namespace qg::onnx_io
