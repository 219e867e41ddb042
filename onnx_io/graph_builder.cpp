#include "onnx_io/graph_builder.h"

#include <cassert>
#include <cstring>

namespace qg::onnx_io {

Attribute Attribute::of(std::string name, int64_t value) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Int;
  a.i = value;
  return a;
}
Attribute Attribute::of(std::string name, std::vector<int64_t> values) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Ints;
  a.ints = std::move(values);
  return a;
}
Attribute Attribute::of(std::string name, float value) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Float;
  a.f = value;
  return a;
}
Attribute Attribute::of(std::string name, std::string value) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::String;
  a.s = std::move(value);
  return a;
}

std::string GraphBuilder::unique(const std::string& base) {
  std::string name = base;
  for (int n = 1; used_.count(name); ++n) {
    name.assign(base);
    name.append("_").append(std::to_string(n));
  }
  used_.insert(name);
  return name;
}

onnx::TensorProto& GraphBuilder::new_initializer(const std::string& base, const std::vector<int64_t>& dims,
                                                 int32_t type) {
  onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(unique(base));
  t.set_data_type(type);
  for (const int64_t d : dims)
    t.add_dims(d);
  return t;
}

namespace {

[[maybe_unused]] int64_t count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (const int64_t d : dims)
    n *= d;
  return n;
}

// raw_data holds the values little-endian, as ONNX's TensorProto specifies (this code runs on little-endian
// x86-64 and aarch64 only; quantgrad's file formats assume the same).
template <class T>
void set_raw(onnx::TensorProto& t, std::span<const T> values) {
  std::string raw(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  t.set_raw_data(std::move(raw));
}

}  // namespace

std::string GraphBuilder::add_float(const std::string& base, const std::vector<int64_t>& dims,
                                    std::span<const float> values) {
  assert(count(dims) == static_cast<int64_t>(values.size()));
  onnx::TensorProto& t = new_initializer(base, dims, onnx::TensorProto::FLOAT);
  set_raw(t, values);
  return t.name();
}

std::string GraphBuilder::add_int32(const std::string& base, const std::vector<int64_t>& dims,
                                    std::span<const int32_t> values) {
  assert(count(dims) == static_cast<int64_t>(values.size()));
  onnx::TensorProto& t = new_initializer(base, dims, onnx::TensorProto::INT32);
  set_raw(t, values);
  return t.name();
}

std::string GraphBuilder::add_int64(const std::string& base, const std::vector<int64_t>& dims,
                                    std::span<const int64_t> values) {
  assert(count(dims) == static_cast<int64_t>(values.size()));
  onnx::TensorProto& t = new_initializer(base, dims, onnx::TensorProto::INT64);
  set_raw(t, values);
  return t.name();
}

std::string GraphBuilder::add_codes(const std::string& base, const std::vector<int64_t>& dims,
                                    std::span<const int32_t> values, int32_t type) {
  assert(count(dims) == static_cast<int64_t>(values.size()));
  assert(type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::INT8);
  onnx::TensorProto& t = new_initializer(base, dims, type);
  std::string raw(values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    assert(type == onnx::TensorProto::UINT8 ? (values[i] >= 0 && values[i] <= 255)
                                            : (values[i] >= -128 && values[i] <= 127));
    raw[i] = static_cast<char>(static_cast<uint8_t>(values[i]));
  }
  t.set_raw_data(std::move(raw));
  return t.name();
}

std::string GraphBuilder::add_scalar_float(const std::string& base, float value) {
  return add_float(base, {}, std::span<const float>(&value, 1));
}

std::string GraphBuilder::add_scalar_code(const std::string& base, int32_t value, int32_t type) {
  return add_codes(base, {}, std::span<const int32_t>(&value, 1), type);
}

std::vector<std::string> GraphBuilder::add_node(const std::string& op_type,
                                                const std::vector<std::string>& inputs,
                                                const std::vector<std::string>& outputs,
                                                const std::string& name,
                                                const std::vector<Attribute>& attributes) {
  onnx::NodeProto& node = *graph_.add_node();
  node.set_op_type(op_type);
  node.set_name(unique(name));
  for (const std::string& in : inputs)
    node.add_input(in);
  std::vector<std::string> made;
  for (const std::string& out : outputs) {
    made.push_back(unique(out));
    node.add_output(made.back());
  }
  for (const Attribute& a : attributes) {
    onnx::AttributeProto& attr = *node.add_attribute();
    attr.set_name(a.name);
    switch (a.kind) {
      case Attribute::Kind::Int:
        attr.set_type(onnx::AttributeProto::INT);
        attr.set_i(a.i);
        break;
      case Attribute::Kind::Ints:
        attr.set_type(onnx::AttributeProto::INTS);
        for (const int64_t v : a.ints)
          attr.add_ints(v);
        break;
      case Attribute::Kind::Float:
        attr.set_type(onnx::AttributeProto::FLOAT);
        attr.set_f(a.f);
        break;
      case Attribute::Kind::String:
        attr.set_type(onnx::AttributeProto::STRING);
        attr.set_s(a.s);
        break;
    }
  }
  return made;
}

std::string GraphBuilder::add_node1(const std::string& op_type, const std::vector<std::string>& inputs,
                                    const std::string& output, const std::string& name,
                                    const std::vector<Attribute>& attributes) {
  return add_node(op_type, inputs, {output}, name, attributes).front();
}

void GraphBuilder::add_value_info(onnx::ValueInfoProto& info, const std::string& name, int32_t type,
                                  const std::vector<int64_t>& sample) {
  info.set_name(name);
  onnx::TypeProto_Tensor& tensor = *info.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(type);
  onnx::TensorShapeProto& shape = *tensor.mutable_shape();
  shape.add_dim()->set_dim_param("N");
  for (const int64_t d : sample)
    shape.add_dim()->set_dim_value(d);
}

void GraphBuilder::add_input(const std::string& name, int32_t type, const std::vector<int64_t>& sample) {
  used_.insert(name);
  add_value_info(*graph_.add_input(), name, type, sample);
}

void GraphBuilder::add_output(const std::string& name, int32_t type, const std::vector<int64_t>& sample) {
  add_value_info(*graph_.add_output(), name, type, sample);
}

onnx::ModelProto make_model_proto(int64_t opset, const std::string& graph_name) {
  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("quantgrad");
  model.set_producer_version(QG_VERSION_STRING);
  onnx::OperatorSetIdProto& id = *model.add_opset_import();
  id.set_domain("");
  id.set_version(opset);
  model.mutable_graph()->set_name(graph_name);
  return model;
}

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto& entry = *model.add_metadata_props();
  entry.set_key(key);
  entry.set_value(value);
}

}  // namespace qg::onnx_io
