#include "onnx_io/export_float.h"

#include <cassert>
#include <map>
#include <vector>

#include "app/experiment.h"
#include "config/builder.h"
#include "config/layer_kind.h"
#include "onnx_io/graph_builder.h"
#include "onnx_io/model_proto_file.h"

namespace qg::onnx_io {

namespace {

using Attributes = std::vector<Attribute>;

std::vector<int64_t> dims_of(const Shape& shape) {
  return {shape.begin(), shape.end()};
}

// Emits the ONNX nodes of one layer at a time, reading its weights from the model state by name.
class FloatGraphWriter {
 public:
  FloatGraphWriter(onnx::GraphProto& graph, const nn::Graph& model) : b_(graph) {
    for (auto& [name, tensor] : model.state())
      state_.emplace(name, tensor);
  }

  // The value that layer `index` outputs; `output` is its wanted name ("logits" for the last layer).
  std::string layer(size_t index, const config::LayerSpec& spec, const std::vector<std::string>& inputs,
                    const std::string& output) {
    const std::string kind = spec.kind->name;
    const std::string node = std::to_string(index) + "_" + kind;
    const std::string p = std::to_string(index) + ".";
    const std::string& x = inputs.front();
    if (kind == "conv2d") {
      std::vector<std::string> in{x, weight(p + "weight")};
      if (spec.bias) in.push_back(weight(p + "bias"));
      const int64_t k = spec.kernel_size, s = spec.stride, pad = spec.padding, d = spec.dilation;
      return b_.add_node1(
          "Conv", in, output, node,
          {Attribute::of("kernel_shape", std::vector<int64_t>{k, k}),
           Attribute::of("strides", std::vector<int64_t>{s, s}),
           Attribute::of("pads", std::vector<int64_t>{pad, pad, pad, pad}),
           Attribute::of("dilations", std::vector<int64_t>{d, d}), Attribute::of("group", spec.groups)});
    }
    if (kind == "relu") return b_.add_node1("Relu", {x}, output, node);
    if (kind == "relu6") {
      const std::string lo = b_.add_scalar_float(p + "min", 0.0f), hi = b_.add_scalar_float(p + "max", 6.0f);
      return b_.add_node1("Clip", {x, lo, hi}, output, node);
    }
    if (kind == "maxpool2d" || kind == "avgpool2d") {
      const int64_t k = spec.kernel_size, s = spec.stride, pad = spec.padding;
      Attributes attributes{Attribute::of("kernel_shape", std::vector<int64_t>{k, k}),
                            Attribute::of("strides", std::vector<int64_t>{s, s}),
                            Attribute::of("pads", std::vector<int64_t>{pad, pad, pad, pad})};
      if (kind == "maxpool2d") return b_.add_node1("MaxPool", {x}, output, node, attributes);
      attributes.push_back(Attribute::of("count_include_pad", int64_t{1}));  // PyTorch's default
      return b_.add_node1("AveragePool", {x}, output, node, attributes);
    }
    if (kind == "batchnorm2d") {
      // ONNX's momentum weighs the old running value (1 - PyTorch's momentum); it plays no part at inference.
      return b_.add_node1("BatchNormalization",
                          {x, weight(p + "weight"), weight(p + "bias"), weight(p + "running_mean"),
                           weight(p + "running_var")},
                          output, node,
                          {Attribute::of("epsilon", static_cast<float>(spec.eps)),
                           Attribute::of("momentum", static_cast<float>(1.0 - spec.momentum))});
    }
    if (kind == "linear") {
      std::vector<std::string> in{x, weight(p + "weight")};
      if (spec.bias) in.push_back(weight(p + "bias"));
      return b_.add_node1("Gemm", in, output, node, {Attribute::of("transB", int64_t{1})});
    }
    if (kind == "flatten")
      return b_.add_node1("Flatten", {x}, output, node, {Attribute::of("axis", int64_t{1})});
    if (kind == "global_avgpool") return b_.add_node1("GlobalAveragePool", {x}, output, node);
    if (kind == "add") return b_.add_node1("Add", inputs, output, node);
    if (kind == "concat")
      return b_.add_node1("Concat", inputs, output, node, {Attribute::of("axis", int64_t{1})});
    if (kind == "dropout") {
      // The identity at inference: no node, unless the graph output must be named.
      return output == "logits" ? b_.add_node1("Identity", {x}, output, node) : x;
    }
    throw OnnxError("float export: layer " + std::to_string(index) + " (" + kind + ") has no ONNX mapping");
  }

  GraphBuilder& builder() { return b_; }

 private:
  // The model state tensor `name` as an initializer of the same name and shape.
  std::string weight(const std::string& name) {
    const auto it = state_.find(name);
    assert(it != state_.end() && "the model was built from this config");
    const Tensor t = it->second.contiguous();
    return b_.add_float(name, dims_of(t.shape()), std::span<const float>(t.data(), t.numel()));
  }

  GraphBuilder b_;
  std::map<std::string, Tensor> state_;
};

}  // namespace

void export_float_model(const config::ModelConfig& config, const nn::Graph& model,
                        const std::string& out_path) {
  onnx::ModelProto proto = make_model_proto(kExportOpset, config.name);
  add_metadata(proto, "quantgrad_model", "float");
  add_metadata(proto, "quantgrad_config", config.name);
  FloatGraphWriter writer(*proto.mutable_graph(), model);
  writer.builder().add_input("input", onnx::TensorProto::FLOAT, dims_of(config.input_shape));
  std::vector<std::string> values;  // values[i]: the value layer i outputs
  for (size_t i = 0; i < config.layers.size(); ++i) {
    const config::LayerSpec& spec = config.layers[i];
    std::vector<std::string> inputs;
    for (const int64_t j : spec.input_layers)
      inputs.push_back(j == config::LayerSpec::kModelInput ? "input" : values.at(static_cast<size_t>(j)));
    const bool last = i + 1 == config.layers.size();
    values.push_back(writer.layer(i, spec, inputs, last ? "logits" : std::to_string(i) + ".output"));
  }
  writer.builder().add_output("logits", onnx::TensorProto::FLOAT, dims_of(config.output_shape()));
  write_model_proto(out_path, proto);
}

void export_float(const config::ModelConfig& config, const std::string& checkpoint_path,
                  const std::string& out_path) {
  Generator gen(config.train.seed);
  const std::shared_ptr<nn::Graph> model = config::build_model(config, gen);
  app::load_training_checkpoint(checkpoint_path, *model, config.name);
  export_float_model(config, *model, out_path);
}

}  // namespace qg::onnx_io
