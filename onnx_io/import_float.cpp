#include "onnx_io/import_float.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "app/experiment.h"
#include "config/builder.h"
#include "config/config_json.h"
#include "config/loader.h"
#include "onnx_io/model_proto_file.h"
#include "onnx_io/tensor_proto_data.h"
#include "util/atomic_file.h"

namespace qg::onnx_io {

namespace {

// The ai.onnx opsets read: 7 is where the ops imported here took their current form (Gemm's broadcasting,
// BatchNormalization without is_test), 17 the newest that ONNX 1.12's checker knows.
constexpr int64_t kMinImportOpset = 7;
constexpr int64_t kMaxImportOpset = 17;

const std::set<std::string>& supported_ops() {
  static const std::set<std::string> ops{
      "Add",     "AveragePool", "BatchNormalization", "Clip",     "Concat", "Constant", "Conv", "Dropout",
      "Flatten", "Gemm",        "GlobalAveragePool",  "Identity", "MatMul", "MaxPool",  "Pad",  "Relu",
      "Reshape"};
  return ops;
}

std::string join(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

// A float in a message, with every digit it has: 1, 0.5, 1.00000012.
std::string float_text(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(value));
  return text;
}

std::string node_label(int index, const onnx::NodeProto& node) {
  return "node " + std::to_string(index) + " \"" + node.name() + "\" (" + node.op_type() + ")";
}

// A float32 setting such as BatchNormalization's epsilon, read back at float precision: 1e-5f -> 1e-05.
double float_setting(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", static_cast<double>(value));
  return std::strtod(text, nullptr);
}

// [rows, cols] -> [cols, rows]
FloatTensor transposed(const FloatTensor& t) {
  const int64_t rows = t.dims[0], cols = t.dims[1];
  FloatTensor out{{cols, rows}, std::vector<float>(t.values.size())};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out.values[c * rows + r] = t.values[r * cols + c];
  return out;
}

// One config layer being made: its JSON entry (without "name"/"inputs"), the layers it reads (-1: the graph
// input), its tensors by state name ("weight", "running_mean", ...) and the node(s) it comes from.
struct PendingLayer {
  nlohmann::json spec;
  std::vector<int64_t> inputs;
  std::map<std::string, FloatTensor> tensors;
  std::string origin;
  std::string node_name;
  std::string output;  // the ONNX value it makes
  bool bias_may_follow =
      false;  // a linear without bias from MatMul or Gemm: an Add of a constant may fold in
  std::optional<int64_t> flatten_features;  // a flatten from Reshape [-1, F]: F, checked after inference
};

class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string what)
      : model_(model), graph_(model.graph()), what_(what) {}

  ImportedModel run(const ImportOptions& options) {
    check_opset();
    check_whole_file();
    read_initializers();
    const Shape input_shape = read_graph_input();
    count_uses();
    for (int i = 0; i < graph_.node_size(); ++i) {
      index_ = i;
      node_ = &graph_.node(i);
      map_node();
    }
    node_ = nullptr;
    check_graph_output();
    // ONNX's own checker and strict shape inference last, so that what this importer refuses is refused with
    // its own message (naming the node); the checker catches what a mapping does not look at.
    check_model_proto(model_, what_);
    return finish(input_shape, options);
  }

 private:
  // ---- errors ---------------------------------------------------------------------------------------------

  OnnxError error(const std::string& detail) const {
    return fail(what_ + ": " + (node_ ? node_label(index_, *node_) + ": " : "") + detail);
  }

  std::string here() const { return node_label(index_, *node_); }

  // Names in an ONNX file are arbitrary bytes (a newline, a NUL): every message is made printable.
  static OnnxError fail(const std::string& message) { return OnnxError(printable(message)); }

  // ---- checks of the whole file, before any node is mapped ------------------------------------------------

  void check_opset() {
    bool found = false;
    for (const onnx::OperatorSetIdProto& id : model_.opset_import()) {
      if (!id.domain().empty() && id.domain() != "ai.onnx") continue;
      found = true;
      opset_ = id.version();
    }
    if (!found) throw error("no opset_import for the ai.onnx domain");
    if (opset_ < kMinImportOpset || opset_ > kMaxImportOpset) {
      throw error("opset " + std::to_string(opset_) + " is not supported (expected " +
                  std::to_string(kMinImportOpset) + " to " + std::to_string(kMaxImportOpset) + ")");
    }
  }

  // What nothing may read, neither the mapping nor ONNX's checker: tensors whose data is elsewhere (the checker
  // would look for the file) or whose dims disagree with their data; sparse and subgraph attributes; other
  // domains; op types this importer does not map.
  void check_whole_file() {
    if (graph_.sparse_initializer_size() > 0) throw error("sparse initializers are not supported");
    for (const onnx::TensorProto& t : graph_.initializer())
      check_tensor_data(t, what_);
    for (int i = 0; i < graph_.node_size(); ++i) {
      index_ = i;
      node_ = &graph_.node(i);
      if (!node_->domain().empty() && node_->domain() != "ai.onnx")
        throw error("operator domain \"" + node_->domain() + "\" is not supported (only ai.onnx)");
      if (!supported_ops().count(node_->op_type())) {
        std::string list;
        for (const std::string& op : supported_ops())
          list += (list.empty() ? "" : ", ") + op;
        throw error("op type " + node_->op_type() + " is not supported (quantgrad imports " + list + ")");
      }
      for (const onnx::AttributeProto& a : node_->attribute()) {
        if (a.has_t()) {
          check_tensor_data(a.t(), what_ + ": " + here() + ": attribute " + a.name());
        }
        if (a.has_g() || a.graphs_size() > 0 || a.tensors_size() > 0 || a.has_sparse_tensor() ||
            a.sparse_tensors_size() > 0 || !a.ref_attr_name().empty()) {
          throw error("attribute " + a.name() + " holds graphs, tensor lists or a reference: not supported");
        }
      }
    }
    node_ = nullptr;
  }

  // ---- names ----------------------------------------------------------------------------------------------

  void read_initializers() {
    for (const onnx::TensorProto& t : graph_.initializer()) {
      if (t.name().empty()) throw error("an initializer has no name");
      if (!constants_.emplace(t.name(), &t).second)
        throw error("initializer \"" + t.name() + "\" is defined twice");
    }
  }

  Shape read_graph_input() {
    const onnx::ValueInfoProto* input = nullptr;
    std::set<std::string> names;
    for (const onnx::ValueInfoProto& v : graph_.input()) {
      if (!names.insert(v.name()).second) throw error("graph input \"" + v.name() + "\" is listed twice");
      if (constants_.count(v.name())) continue;  // an initializer listed as an input (IR version < 4)
      if (input) throw error("more than one graph input (\"" + input->name() + "\", \"" + v.name() + "\")");
      input = &v;
    }
    if (!input) throw error("no graph input (besides initializers)");
    const std::string where = "graph input \"" + input->name() + "\": ";
    if (!input->type().has_tensor_type() ||
        input->type().tensor_type().elem_type() != onnx::TensorProto::FLOAT)
      throw error(where + "expected a float32 tensor");
    const onnx::TensorShapeProto& shape = input->type().tensor_type().shape();
    if (shape.dim_size() != 4)
      throw error(where + "expected 4 dims [N, C, H, W], found " + std::to_string(shape.dim_size()));
    Shape sample;
    for (int d = 1; d < 4; ++d) {
      if (!shape.dim(d).has_dim_value() || shape.dim(d).dim_value() <= 0)
        throw error(where + "dim " + std::to_string(d) + " must be a fixed positive size");
      sample.push_back(shape.dim(d).dim_value());
    }
    values_.emplace(input->name(), config::LayerSpec::kModelInput);
    return sample;
  }

  void count_uses() {
    for (const onnx::NodeProto& n : graph_.node())
      for (const std::string& in : n.input())
        ++uses_[in];
    for (const onnx::ValueInfoProto& out : graph_.output())
      ++uses_[out.name()];
  }

  bool defined(const std::string& name) const {
    return values_.count(name) || constants_.count(name) || pads_.count(name);
  }

  void define_value(const std::string& name, int64_t layer) {
    if (name.empty() || defined(name))
      throw error("output \"" + name + "\" is already defined (names must be unique)");
    values_.emplace(name, layer);
  }

  // ---- node inputs and attributes -------------------------------------------------------------------------

  bool has_input(int k) const { return k < node_->input_size() && !node_->input(k).empty(); }

  void need_inputs(int min, int max) const {
    if (node_->input_size() < min || node_->input_size() > max || !has_input(0))
      throw error("expected " + std::to_string(min) + (max > min ? " to " + std::to_string(max) : "") +
                  " inputs, found " + std::to_string(node_->input_size()));
  }

  std::string unknown_input(int k) const {
    return "input " + std::to_string(k) + " \"" + node_->input(k) +
           "\" is not made by an earlier node, an initializer or the graph input (a node out of order, a "
           "cycle or "
           "a missing initializer)";
  }

  // Input k as a computed value: the layer that makes it (-1: the graph input).
  int64_t computed(int k) const {
    const std::string& name = node_->input(k);
    if (const auto it = pads_.find(name); it != pads_.end()) {
      throw error(
          "input " + std::to_string(k) + " \"" + name + "\" comes from " + it->second.origin +
          ": a Pad is only supported as the input of an AveragePool (PyTorch's count_include_pad=True)");
    }
    if (const auto it = values_.find(name); it != values_.end()) return it->second;
    if (constants_.count(name))
      throw error("input " + std::to_string(k) + " \"" + name +
                  "\" is a constant; expected a computed value");
    throw error(unknown_input(k));
  }

  // Input k as a constant (an initializer or a Constant node's value).
  const onnx::TensorProto& constant(int k, const char* role) const {
    const std::string& name = node_->input(k);
    if (const auto it = constants_.find(name); it != constants_.end()) return *it->second;
    if (values_.count(name))
      throw error(std::string("input ") + std::to_string(k) + " \"" + name + "\" (" + role +
                  ") is computed in the graph; expected a constant initializer");
    throw error(unknown_input(k));
  }

  // Input k as a layer's own weights. Each tensor is read for one layer only, so that a large tensor named
  // by many nodes (or Identity aliases) is never copied many times: the imported weights never exceed the
  // file's.
  FloatTensor float_constant_any(int k, const char* role) {
    const onnx::TensorProto& t = constant(k, role);
    if (!weights_read_.insert(&t).second) {
      throw error(
          std::string(role) + " \"" + node_->input(k) +
          "\" is already another layer's (shared weights are not imported: a layer's weights are its own)");
    }
    return read_float_tensor(t, what_ + ": " + here());
  }

  // A small constant (a shape, pads, a scalar bound) of at most `max_elements` values, checked before it is
  // read.
  const onnx::TensorProto& small_constant(int k, const char* role, int64_t max_elements) const {
    const onnx::TensorProto& t = constant(k, role);
    tensor_elements(t, what_ + ": " + here(), max_elements);  // throws beyond max_elements
    return t;
  }

  FloatTensor float_constant(int k, const char* role, size_t rank) {
    FloatTensor t = float_constant_any(k, role);
    if (t.dims.size() != rank) {
      throw error(std::string(role) + " \"" + node_->input(k) + "\" has shape " + join(t.dims) +
                  ", expected " + std::to_string(rank) + " dims");
    }
    return t;
  }

  // Refuses an attribute not in `known`, or one given twice.
  void allow_attributes(std::initializer_list<const char*> known) const {
    std::set<std::string> seen;
    for (const onnx::AttributeProto& a : node_->attribute()) {
      if (!seen.insert(a.name()).second) throw error("attribute " + a.name() + " is given twice");
      bool ok = false;
      for (const char* k : known)
        ok = ok || a.name() == k;
      if (!ok) throw error("attribute " + a.name() + " is not supported");
    }
  }

  const onnx::AttributeProto* attribute(const std::string& name,
                                        onnx::AttributeProto::AttributeType type) const {
    for (const onnx::AttributeProto& a : node_->attribute()) {
      if (a.name() != name) continue;
      if (a.type() != type) {
        auto type_name = [](int t) {
          return onnx::AttributeProto_AttributeType_IsValid(t)
                     ? onnx::AttributeProto_AttributeType_Name(
                           static_cast<onnx::AttributeProto_AttributeType>(t))
                     : "type " + std::to_string(t);
        };
        throw error("attribute " + name + " has type " + type_name(a.type()) + ", expected " +
                    type_name(type));
      }
      return &a;
    }
    return nullptr;
  }

  int64_t int_attribute(const std::string& name, int64_t fallback) const {
    const onnx::AttributeProto* a = attribute(name, onnx::AttributeProto::INT);
    return a ? a->i() : fallback;
  }
  float float_attribute(const std::string& name, float fallback) const {
    const onnx::AttributeProto* a = attribute(name, onnx::AttributeProto::FLOAT);
    return a ? a->f() : fallback;
  }
  std::vector<int64_t> ints_attribute(const std::string& name, std::vector<int64_t> fallback) const {
    const onnx::AttributeProto* a = attribute(name, onnx::AttributeProto::INTS);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
  }

  void require_int(const std::string& name, int64_t fallback, int64_t expected,
                   const std::string& why) const {
    const int64_t v = int_attribute(name, fallback);
    if (v != expected) {
      throw error("attribute " + name + " = " + std::to_string(v) + " is not supported (expected " +
                  std::to_string(expected) + ": " + why + ")");
    }
  }

  void require_no_auto_pad() const {
    const onnx::AttributeProto* a = attribute("auto_pad", onnx::AttributeProto::STRING);
    if (a && a->s() != "NOTSET")
      throw error("attribute auto_pad = " + a->s() +
                  " is not supported (expected NOTSET with explicit pads)");
  }

  // A square 2-D window: kernel_shape, strides, pads and (convolution) dilations, each the same on both axes.
  struct Window {
    int64_t kernel = 0, stride = 1, padding = 0, dilation = 1;
  };

  Window read_window(const std::vector<int64_t>& kernel_shape, bool dilations_allowed) const {
    Window w;
    if (kernel_shape.size() != 2) {
      throw error("kernel_shape " + join(kernel_shape) +
                  " is not 2-D (only 2-D convolutions and pools, on [N, C, H, W])");
    }
    if (kernel_shape[0] != kernel_shape[1])
      throw error("kernel_shape " + join(kernel_shape) + " is not square");
    w.kernel = kernel_shape[0];
    const std::vector<int64_t> strides = ints_attribute("strides", {1, 1});
    if (strides.size() != 2 || strides[0] != strides[1])
      throw error("attribute strides = " + join(strides) + " is not supported (expected [s, s])");
    w.stride = strides[0];
    const std::vector<int64_t> pads = ints_attribute("pads", {0, 0, 0, 0});
    if (pads.size() != 4 || pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3])
      throw error("attribute pads = " + join(pads) + " is not supported (expected [p, p, p, p])");
    w.padding = pads[0];
    const std::vector<int64_t> dilations = ints_attribute("dilations", {1, 1});
    if (dilations.size() != 2 || dilations[0] != dilations[1])
      throw error("attribute dilations = " + join(dilations) + " is not supported (expected [d, d])");
    if (!dilations_allowed && dilations[0] != 1)
      throw error("attribute dilations = " + join(dilations) +
                  " is not supported on a pool (expected [1, 1])");
    w.dilation = dilations[0];
    return w;
  }

  // Outputs past the first (MaxPool's Indices, Dropout's mask, BatchNormalization's training outputs) must
  // be unused.
  void single_output() const {
    if (node_->output_size() < 1 || node_->output(0).empty()) throw error("expected an output");
    for (int k = 1; k < node_->output_size(); ++k) {
      const std::string& name = node_->output(k);
      if (!name.empty() && uses_.count(name))
        throw error("output " + std::to_string(k) + " \"" + name +
                    "\" is used; only the first output is supported");
    }
  }

  // ---- making layers --------------------------------------------------------------------------------------

  PendingLayer& add_layer(nlohmann::json spec, std::vector<int64_t> inputs) {
    single_output();
    PendingLayer layer;
    layer.spec = std::move(spec);
    layer.inputs = std::move(inputs);
    layer.origin = here();
    layer.node_name = node_->name();
    layer.output = node_->output(0);
    layers_.push_back(std::move(layer));
    define_value(node_->output(0), static_cast<int64_t>(layers_.size()) - 1);
    return layers_.back();
  }

  // The node's output is its input: Identity, Dropout at inference.
  void alias_input() {
    single_output();
    const std::string& in = node_->input(0);
    const std::string& out = node_->output(0);
    if (const auto c = constants_.find(in); c != constants_.end()) {
      if (defined(out)) throw error("output \"" + out + "\" is already defined (names must be unique)");
      constants_.emplace(out, c->second);
      return;
    }
    define_value(out, computed(0));
  }

  void map_node() {
    const std::string& op = node_->op_type();
    if (op == "Constant") return map_constant();
    if (op == "Identity") {
      need_inputs(1, 1);
      allow_attributes({});
      return alias_input();
    }
    if (op == "Dropout") return map_dropout();
    if (op == "Conv") return map_conv();
    if (op == "Relu") {
      need_inputs(1, 1);
      allow_attributes({});
      add_layer({{"type", "relu"}}, {computed(0)});
      return;
    }
    if (op == "Clip") return map_clip();
    if (op == "MaxPool" || op == "AveragePool") return map_pool();
    if (op == "GlobalAveragePool") {
      need_inputs(1, 1);
      allow_attributes({});
      add_layer({{"type", "global_avgpool"}}, {computed(0)});
      return;
    }
    if (op == "BatchNormalization") return map_batch_norm();
    if (op == "Flatten") {
      need_inputs(1, 1);
      allow_attributes({"axis"});
      require_int("axis", 1, 1, "[N, ...] -> [N, features]");
      add_layer({{"type", "flatten"}}, {computed(0)});
      return;
    }
    if (op == "Reshape") return map_reshape();
    if (op == "Pad") return map_pad();
    if (op == "Gemm") return map_gemm();
    if (op == "MatMul") return map_matmul();
    if (op == "Add") return map_add();
    if (op == "Concat") return map_concat();
    throw error("op type " + op + " is not supported");  // supported_ops() and this list agree
  }

  void map_constant() {
    allow_attributes({"value"});
    const onnx::AttributeProto* value = attribute("value", onnx::AttributeProto::TENSOR);
    if (!value) throw error("expected a tensor attribute \"value\"");
    if (node_->input_size() != 0 || node_->output_size() != 1)
      throw error("expected no inputs and one output");
    const std::string& out = node_->output(0);
    if (out.empty() || defined(out))
      throw error("output \"" + out + "\" is already defined (names must be unique)");
    constants_.emplace(out, &value->t());
  }

  void map_dropout() {
    need_inputs(1, 3);
    allow_attributes({"ratio", "seed"});
    if (has_input(2))
      throw error("input 2 (training_mode) is given; only inference Dropout (the identity) is imported");
    alias_input();
  }

  void map_conv() {
    need_inputs(2, 3);
    allow_attributes({"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"});
    require_no_auto_pad();
    const int64_t x = computed(0);
    const onnx::TensorProto& w_proto = constant(1, "weight");
    if (w_proto.dims_size() != 4) {
      throw error("weight \"" + w_proto.name() + "\" has " + std::to_string(w_proto.dims_size()) +
                  " dims: only 2-D convolutions (weight [out, in/group, kH, kW]) are supported");
    }
    FloatTensor w = float_constant(1, "weight", 4);
    const std::vector<int64_t> kernel = ints_attribute("kernel_shape", {w.dims[2], w.dims[3]});
    if (kernel != std::vector<int64_t>{w.dims[2], w.dims[3]})
      throw error("kernel_shape " + join(kernel) + " does not match the weight's shape " + join(w.dims));
    const Window window = read_window(kernel, true);
    const int64_t groups = int_attribute("group", 1);
    nlohmann::json spec{
        {"type", "conv2d"},        {"out_channels", w.dims[0]}, {"kernel_size", window.kernel},
        {"stride", window.stride}, {"padding", window.padding}, {"dilation", window.dilation},
        {"groups", groups},        {"bias", has_input(2)}};
    std::optional<FloatTensor> bias;
    if (has_input(2)) bias = float_constant(2, "bias", 1);
    PendingLayer& layer = add_layer(std::move(spec), {x});
    layer.tensors["weight"] = std::move(w);
    if (bias) layer.tensors["bias"] = std::move(*bias);
  }

  // A Clip's bound: the attribute (opsets before 11) or the constant scalar input k; nullopt when absent.
  std::optional<float> clip_bound(const char* name, int k) const {
    if (opset_ < 11) {
      const onnx::AttributeProto* a = attribute(name, onnx::AttributeProto::FLOAT);
      return a ? std::optional<float>(a->f()) : std::nullopt;
    }
    if (!has_input(k)) return std::nullopt;
    const onnx::TensorProto& t = small_constant(k, name, 1);
    FloatTensor v = read_float_tensor(t, what_ + ": " + here());
    if (v.values.size() != 1) throw error(std::string(name) + " \"" + t.name() + "\" is not a scalar");
    return v.values[0];
  }

  void map_clip() {
    need_inputs(1, 3);
    allow_attributes({"min", "max"});
    const std::optional<float> lo = clip_bound("min", 1), hi = clip_bound("max", 2);
    const bool relu_min = lo && *lo == 0.0f;
    const char* type = relu_min && hi && *hi == 6.0f ? "relu6" : relu_min && !hi ? "relu" : nullptr;
    if (!type) {
      auto text = [](const std::optional<float>& v) { return v ? float_text(*v) : std::string("none"); };
      throw error("Clip(min " + text(lo) + ", max " + text(hi) +
                  ") is not supported (expected min 0, max 6: ReLU6; or min 0 alone: ReLU)");
    }
    add_layer({{"type", type}}, {computed(0)});
  }

  void map_pool() {
    const bool average = node_->op_type() == "AveragePool";
    need_inputs(1, 1);
    if (average) {
      allow_attributes({"kernel_shape", "strides", "pads", "ceil_mode", "auto_pad", "count_include_pad"});
    } else {
      allow_attributes(
          {"kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad", "storage_order"});
    }
    require_no_auto_pad();
    require_int("ceil_mode", 0, 0, "PyTorch's default ceil_mode=False");
    if (!average) require_int("storage_order", 0, 0, "row-major");
    const std::vector<int64_t> kernel = ints_attribute("kernel_shape", {});
    if (kernel.empty()) throw error("attribute kernel_shape is missing");
    Window window = read_window(kernel, false);
    if (average && window.padding > 0)
      require_int("count_include_pad", 0, 1, "padded zeros count in the average, PyTorch's default");
    int64_t x = 0;
    std::string origin;
    if (const auto pad = pads_.find(node_->input(0)); average && pad != pads_.end()) {
      // Pad with zeros, then AveragePool: how torch exports AvgPool2d(padding=p, count_include_pad=True).
      if (window.padding > 0 || uses_[node_->input(0)] != 1)
        throw error("a Pad before it must be its only padding, and feed it alone");
      window.padding = pad->second.padding;
      x = pad->second.input;
      origin = pad->second.origin + " + ";
    } else {
      x = computed(0);
    }
    PendingLayer& layer = add_layer({{"type", average ? "avgpool2d" : "maxpool2d"},
                                     {"kernel_size", window.kernel},
                                     {"stride", window.stride},
                                     {"padding", window.padding}},
                                    {x});
    layer.origin = origin + layer.origin;
  }

  // Pad with zeros by p on both sides of H and W: held back for the AveragePool it must feed.
  void map_pad() {
    need_inputs(1, 3);
    allow_attributes({"mode", "pads", "value"});
    const onnx::AttributeProto* mode = attribute("mode", onnx::AttributeProto::STRING);
    if (mode && mode->s() != "constant")
      throw error("attribute mode = " + mode->s() + " is not supported (expected constant)");
    std::vector<int64_t> pads;
    float value = 0.0f;
    if (opset_ < 11) {
      pads = ints_attribute("pads", {});
      value = float_attribute("value", 0.0f);
    } else {
      if (!has_input(1)) throw error("input 1 (pads) is missing");
      pads = read_int64_tensor(small_constant(1, "pads", 8), what_ + ": " + here());
      if (has_input(2)) {
        const FloatTensor v =
            read_float_tensor(small_constant(2, "constant_value", 1), what_ + ": " + here());
        if (v.values.size() != 1) throw error("constant_value is not a scalar");
        value = v.values[0];
      }
    }
    const int64_t p = pads.size() == 8 ? pads[2] : -1;
    const bool symmetric = pads.size() == 8 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 &&
                           pads[3] == p && pads[6] == p && pads[7] == p && p >= 0;
    if (!symmetric || value != 0.0f) {
      throw error("pads " + join(pads) + " with value " + float_text(value) +
                  " are not supported (expected zeros, the same p on both sides of H and W)");
    }
    single_output();
    const std::string& out = node_->output(0);
    if (defined(out) || pads_.count(out))
      throw error("output \"" + out + "\" is already defined (names must be unique)");
    pads_.emplace(out, PendingPad{computed(0), p, here()});
  }

  void map_batch_norm() {
    need_inputs(5, 5);
    // Before opset 14 a BatchNormalization in training mode is one with its running statistics as outputs.
    for (int k = 1; k < node_->output_size(); ++k) {
      if (!node_->output(k).empty())
        throw error("output " + std::to_string(k) +
                    " is given: a BatchNormalization in training mode (export the model after model.eval())");
    }
    allow_attributes({"epsilon", "momentum", "training_mode", "spatial"});
    require_int("training_mode", 0, 0, "inference, with the running statistics");
    require_int("spatial", 1, 1, "one statistic per channel");
    const int64_t x = computed(0);
    const char* names[] = {"weight", "bias", "running_mean", "running_var"};
    std::map<std::string, FloatTensor> tensors;
    for (int k = 1; k <= 4; ++k) {
      FloatTensor t = float_constant(k, names[k - 1], 1);
      if (!tensors.empty() && t.dims != tensors.at("weight").dims)
        throw error(std::string(names[k - 1]) + " has shape " + join(t.dims) + ", unlike the scale's");
      tensors[names[k - 1]] = std::move(t);
    }
    for (const float v : tensors["running_var"].values)
      if (v < 0) throw error("running variance \"" + node_->input(4) + "\" has a negative value");
    const float onnx_momentum = float_attribute("momentum", 0.9f);
    if (!(onnx_momentum >= 0.0f && onnx_momentum <= 1.0f))
      throw error("attribute momentum = " + float_text(onnx_momentum) + " is not in [0, 1]");
    const float eps = float_attribute("epsilon", 1e-5f);
    if (!(eps > 0.0f && std::isfinite(eps)))
      throw error("attribute epsilon = " + float_text(eps) + " is not positive");
    PendingLayer& layer =
        add_layer({{"type", "batchnorm2d"},
                   {"eps", float_setting(eps)},
                   {"momentum", float_setting(1.0f - onnx_momentum)}},  // PyTorch's momentum
                  {x});
    layer.tensors = std::move(tensors);
  }

  // torch's x.view(-1, F): Reshape to a constant [-1, F] (or [N, F], [0, F], [N, -1]) is a flatten.
  void map_reshape() {
    need_inputs(2, 2);
    allow_attributes({"allowzero"});
    require_int("allowzero", 0, 0, "a 0 in the shape copies the input's dim");
    const int64_t x = computed(0);
    const std::vector<int64_t> shape =
        read_int64_tensor(small_constant(1, "shape", 2), what_ + ": " + here());
    const bool batch_ok = shape.size() == 2 && shape[0] >= -1;
    const bool features_ok = shape.size() == 2 && (shape[1] > 0 || (shape[1] == -1 && shape[0] != -1));
    if (!batch_ok || !features_ok)
      throw error("shape " + join(shape) + " is not supported (expected [-1, F] or [N, F]: a flatten)");
    PendingLayer& layer = add_layer({{"type", "flatten"}}, {x});
    if (shape[1] > 0) layer.flatten_features = shape[1];
  }

  void map_gemm() {
    need_inputs(2, 3);
    allow_attributes({"alpha", "beta", "transA", "transB"});
    const float alpha = float_attribute("alpha", 1.0f), beta = float_attribute("beta", 1.0f);
    if (alpha != 1.0f)
      throw error("attribute alpha = " + float_text(alpha) + " is not supported (expected 1)");
    if (beta != 1.0f) throw error("attribute beta = " + float_text(beta) + " is not supported (expected 1)");
    require_int("transA", 0, 0, "the input is [N, in_features]");
    const int64_t trans_b = int_attribute("transB", 0);
    if (trans_b != 0 && trans_b != 1)
      throw error("attribute transB = " + std::to_string(trans_b) + " is not 0 or 1");
    const int64_t x = computed(0);
    FloatTensor w = float_constant(1, "weight", 2);
    if (trans_b == 0) w = transposed(w);  // [in, out] -> [out, in], as nn::Linear keeps it
    std::optional<FloatTensor> bias;
    if (has_input(2)) bias = linear_bias(float_constant_any(2, "bias"), w.dims[0]);
    add_linear(x, std::move(w), std::move(bias));
  }

  // A bias of shape [out] or [1, out] (Gemm's and Add's broadcast) as [out].
  FloatTensor linear_bias(FloatTensor b, int64_t out) const {
    const bool fits = (b.dims == std::vector<int64_t>{out}) || (b.dims == std::vector<int64_t>{1, out});
    if (!fits) throw error("bias has shape " + join(b.dims) + ", expected [" + std::to_string(out) + "]");
    b.dims = {out};
    return b;
  }

  void add_linear(int64_t x, FloatTensor w, std::optional<FloatTensor> bias) {
    PendingLayer& layer =
        add_layer({{"type", "linear"}, {"out_features", w.dims[0]}, {"bias", bias.has_value()}}, {x});
    layer.tensors["weight"] = std::move(w);
    if (bias) layer.tensors["bias"] = std::move(*bias);
    layer.bias_may_follow = !bias;
  }

  void map_matmul() {
    need_inputs(2, 2);
    allow_attributes({});
    const int64_t x = computed(0);
    FloatTensor w = float_constant(1, "weight", 2);  // [in, out]
    add_linear(x, transposed(w), std::nullopt);
  }

  void map_add() {
    need_inputs(2, 2);
    allow_attributes({});
    const bool constant0 = constants_.count(node_->input(0)) > 0,
               constant1 = constants_.count(node_->input(1)) > 0;
    if (!constant0 && !constant1) {
      add_layer({{"type", "add"}}, {computed(0), computed(1)});
      return;
    }
    if (constant0 && constant1) throw error("both inputs are constants (constant folding is not supported)");
    // MatMul (or Gemm without C) then Add of a constant: the linear's bias.
    const int k = constant0 ? 1 : 0;
    const int64_t producer = computed(k);
    PendingLayer* linear = producer >= 0 ? &layers_[static_cast<size_t>(producer)] : nullptr;
    if (!linear || !linear->bias_may_follow || linear->output != node_->input(k) ||
        uses_[node_->input(k)] != 1) {
      throw error(
          "adding a constant is only supported as the bias of a MatMul or Gemm whose output it alone reads");
    }
    linear->tensors["bias"] =
        linear_bias(float_constant_any(1 - k, "bias"), linear->tensors["weight"].dims[0]);
    linear->spec["bias"] = true;
    linear->bias_may_follow = false;
    linear->origin += " + " + here();
    single_output();
    define_value(node_->output(0), producer);
    linear->output = node_->output(0);
  }

  void map_concat() {
    need_inputs(1, node_->input_size());
    allow_attributes({"axis"});
    const onnx::AttributeProto* axis = attribute("axis", onnx::AttributeProto::INT);
    if (!axis || axis->i() != 1)
      throw error("attribute axis = " + (axis ? std::to_string(axis->i()) : std::string("none")) +
                  " is not supported (expected 1: channels, or features of [N, F])");
    std::vector<int64_t> inputs;
    for (int k = 0; k < node_->input_size(); ++k) {
      if (!has_input(k)) throw error("input " + std::to_string(k) + " is empty");
      inputs.push_back(computed(k));
    }
    add_layer({{"type", "concat"}}, std::move(inputs));
  }

  // ---- the end: the graph output, the config and the checkpoint --------------------------------------------

  void check_graph_output() {
    if (graph_.output_size() != 1)
      throw error("expected one graph output (the logits), found " + std::to_string(graph_.output_size()));
    const std::string& name = graph_.output(0).name();
    const auto it = values_.find(name);
    if (it == values_.end() || it->second < 0)
      throw error("graph output \"" + name +
                  "\" is not made by a layer (the model has no layers, or it is a constant)");
    if (it->second != static_cast<int64_t>(layers_.size()) - 1)
      throw error("graph output \"" + name + "\" is not the last layer's output (" +
                  layers_[static_cast<size_t>(it->second)].origin + ")");
  }

  // Names for the layers others read out of order, from their node names ("/layer1/conv/Conv" ->
  // "layer1.conv.Conv"), unique and never "input".
  std::vector<std::string> layer_names(const std::vector<bool>& named) const {
    std::vector<std::string> names(layers_.size());
    std::set<std::string> used{"input"};
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (!named[i]) continue;
      std::string name = layers_[i].node_name;
      while (!name.empty() && name.front() == '/')
        name.erase(name.begin());
      for (char& c : name)
        if (c == '/') c = '.';
      if (name.empty() || name.size() > 64 || printable(name) != name || used.count(name))
        name = "layer" + std::to_string(i);
      for (int n = 1; used.count(name); ++n)
        name = "layer" + std::to_string(i) + "_" + std::to_string(n);
      used.insert(name);
      names[i] = name;
    }
    return names;
  }

  nlohmann::json layers_json() const {
    auto default_inputs = [](size_t i) { return std::vector<int64_t>{static_cast<int64_t>(i) - 1}; };
    std::vector<bool> named(layers_.size(), false);
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (layers_[i].inputs == default_inputs(i)) continue;
      for (const int64_t j : layers_[i].inputs)
        if (j >= 0) named[static_cast<size_t>(j)] = true;
    }
    const std::vector<std::string> names = layer_names(named);
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < layers_.size(); ++i) {
      nlohmann::json spec = layers_[i].spec;
      if (named[i]) spec["name"] = names[i];
      if (layers_[i].inputs != default_inputs(i)) {
        nlohmann::json inputs = nlohmann::json::array();
        for (const int64_t j : layers_[i].inputs)
          inputs.push_back(j < 0 ? "input" : names[static_cast<size_t>(j)]);
        spec["inputs"] = inputs;
      }
      out.push_back(spec);
    }
    return out;
  }

  // "/layers/3/out_features" -> 3; -1 if the pointer names no layer.
  static int64_t layer_of(const std::string& pointer) {
    if (pointer.rfind("/layers/", 0) != 0) return -1;
    try {
      return std::stoll(pointer.substr(8));
    } catch (const std::exception&) {
      return -1;
    }
  }

  config::ModelConfig parse(const nlohmann::json& document) const {
    try {
      return config::parse_config(document, what_);
    } catch (const config::ConfigError& e) {
      const int64_t layer = layer_of(e.pointer());
      if (layer >= 0 && layer < static_cast<int64_t>(layers_.size())) {
        const PendingLayer& l = layers_[static_cast<size_t>(layer)];
        throw fail(what_ + ": " + l.origin + ", config layer " + std::to_string(layer) + " (" +
                   l.spec["type"].get<std::string>() + "): " + e.detail());
      }
      if (e.pointer().rfind("/input", 0) == 0) throw fail(what_ + ": graph input: " + e.detail());
      throw fail(what_ + ": the imported model does not fit a quantgrad config: " +
                 (e.pointer().empty() ? "" : e.pointer() + ": ") + e.detail());
    }
  }

  ImportedModel finish(const Shape& input_shape, const ImportOptions& options) {
    // Text from the file goes into JSON only as printable ASCII (JSON text must be valid UTF-8).
    // The name becomes part of file names (runs/<name>_ptq_int8.qgm): a given one must be a plain file name
    // part; one taken from the ONNX file's name has every other character replaced by '_'.
    const auto file_safe = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    };
    if (!options.name.empty() &&
        (!std::all_of(options.name.begin(), options.name.end(), file_safe) || options.name[0] == '.'))
      throw OnnxError(
          "name \"" + printable(options.name) +
          "\": a config name may hold letters, digits, '_', '-' and '.' only, not first (it names files)");
    std::string name = options.name.empty() ? std::filesystem::path(what_).stem().string() : options.name;
    for (char& c : name)
      if (!file_safe(c)) c = '_';
    if (name.empty() || name[0] == '.') name = "imported" + name;
    const nlohmann::json document{
        {"name", name},
        {"description",
         "Imported from the ONNX file " + printable(std::filesystem::path(what_).filename().string()) +
             " (producer: " + printable(model_.producer_name() + " " + model_.producer_version()) +
             ", opset " + std::to_string(opset_) + ") by qimport."},
        {"input", {{"shape", input_shape}}},
        {"layers", layers_json()},
        {"data", {{"dataset", options.dataset}}}};
    ImportedModel imported;
    imported.config = parse(document);
    for (size_t i = 0; i < layers_.size(); ++i) {
      const PendingLayer& layer = layers_[i];
      const Shape& out = imported.config.layers[i].output_shape;
      if (layer.flatten_features && (out.size() != 1 || out[0] != *layer.flatten_features)) {
        throw fail(what_ + ": " + layer.origin + ": reshapes to " + std::to_string(*layer.flatten_features) +
                   " features, but its input has " +
                   std::to_string(numel(imported.config.layers[i].input_shape)) +
                   " per sample (only a flatten is supported)");
      }
      imported.layers.push_back({layer.spec["type"].get<std::string>(), layer.origin});
    }
    imported.config_json = config::config_to_json(imported.config);
    imported.checkpoint = checkpoint(imported.config);
    return imported;
  }

  // The float model's state, filled from the layers' tensors; each shape checked against what the config's
  // model expects.
  nn::Checkpoint checkpoint(const config::ModelConfig& config) const {
    Generator gen(config.train.seed);
    const std::shared_ptr<nn::Graph> model = config::build_model(config, gen);
    nn::Checkpoint ck;
    for (auto& [state_name, tensor] : model->state()) {
      const size_t dot = state_name.find('.');
      const size_t index = std::stoul(state_name.substr(0, dot));
      const std::string field = state_name.substr(dot + 1);
      const PendingLayer& layer = layers_.at(index);
      const auto it = layer.tensors.find(field);
      if (it == layer.tensors.end()) {
        if (field != "num_batches_tracked")
          throw fail(what_ + ": " + layer.origin + ": no " + field + " tensor");
        tensor.fill(0.0f);
      } else {
        const Shape expected = tensor.shape();
        if (it->second.dims != std::vector<int64_t>(expected.begin(), expected.end())) {
          throw fail(
              what_ + ": " + layer.origin + ": " + field + " has shape " + join(it->second.dims) +
              ", but the layer (input " +
              join({config.layers[index].input_shape.begin(), config.layers[index].input_shape.end()}) +
              ") needs " + join({expected.begin(), expected.end()}));
        }
        std::copy(it->second.values.begin(), it->second.values.end(), tensor.data());
      }
      ck.tensors.emplace_back("model." + state_name, tensor);
    }
    // The optimizer's initial state and "epoch" 0: `train --resume` then fine-tunes the imported weights as a
    // run stopped before its first epoch (SGD's has_buffer = 0: its first step starts the momentum, as
    // PyTorch's does).
    const std::unique_ptr<nn::Optimizer> optimizer =
        app::make_optimizer(config.train, model->parameters(), config.train.lr);
    for (auto& [state_name, tensor] : optimizer->state())
      ck.tensors.emplace_back("optimizer." + state_name, tensor);
    ck.metadata = {{"kind", "float"},
                   {"config", config.name},
                   {"seed", config.train.seed},
                   {"epoch", 0},
                   {"imported_from", printable(what_)}};
    return ck;
  }

  const onnx::ModelProto& model_;
  const onnx::GraphProto& graph_;
  std::string what_;
  int64_t opset_ = 0;
  int index_ = -1;                                             // the node being mapped, for messages
  const onnx::NodeProto* node_ = nullptr;                      // null outside a node
  std::map<std::string, const onnx::TensorProto*> constants_;  // initializers and Constant nodes' values
  std::map<std::string, int64_t> values_;                      // computed values -> the layer making them
  std::set<const onnx::TensorProto*> weights_read_;            // constants read as a layer's weights
  std::map<std::string, int> uses_;  // how many node inputs and graph outputs read each
  std::vector<PendingLayer> layers_;
  // A Pad's output waiting for its AveragePool: what it pads, by how much, and the node.
  struct PendingPad {
    int64_t input = 0;
    int64_t padding = 0;
    std::string origin;
  };
  std::map<std::string, PendingPad> pads_;
};

}  // namespace

ImportedModel import_float_bytes(std::string_view bytes, const std::string& what,
                                 const ImportOptions& options) {
  try {
    const onnx::ModelProto model = parse_model_proto(bytes, what);
    return Importer(model, what).run(options);
  } catch (const OnnxError& e) {
    throw OnnxError(printable(e.what()));
  }
}

ImportedModel import_float(const std::string& onnx_path, const ImportOptions& options) {
  std::string bytes;
  try {
    bytes = util::read_file(onnx_path, kMaxOnnxFileBytes);  // bounded, as read_model_proto reads
  } catch (const std::exception& e) {
    throw OnnxError(printable(e.what()));
  }
  return import_float_bytes(bytes, onnx_path, options);
}

}  // namespace qg::onnx_io
