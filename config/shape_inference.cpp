#include "config/shape_inference.h"

#include <cassert>
#include <map>
#include <string>
#include <vector>

#include "config/layer_kind.h"
#include "config/object_reader.h"
#include "util/json_pointer.h"

namespace qg::config {

namespace {

using Names = std::map<std::string, std::size_t>;

/// "layer 3 ("blk1_add")" or "layer 3 (add)": a layer in messages.
std::string layer_label(const ModelConfig& config, std::size_t i) {
  const LayerSpec& layer = config.layers[i];
  return "layer " + std::to_string(i) + " (" +
         (layer.name.empty() ? layer.kind->name : "\"" + layer.name + "\"") + ")";
}

std::string inputs_pointer(std::size_t layer, std::size_t j) {
  return util::json_pointer_append(
      util::json_pointer_append(util::json_pointer_append("/layers", layer), "inputs"), j);
}

/// Every layer's name -> its index; refuses a name given twice.
Names layer_names(const ModelConfig& config) {
  Names names;
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const std::string& name = config.layers[i].name;
    if (name.empty()) continue;
    const auto [it, added] = names.emplace(name, i);
    if (!added) {
      throw ConfigError(config.source,
                        util::json_pointer_append(util::json_pointer_append("/layers", i), "name"),
                        "the name \"" + name + "\" is already " + layer_label(config, it->second) +
                            "'s; layer names must be unique");
    }
  }
  return names;
}

/// The layers `i` reads as written, before any check: indices, kModelInput, or -2 for a name that names no
/// layer. Used to look for cycles among layers not yet checked.
std::vector<int64_t> declared_inputs(const ModelConfig& config, std::size_t i, const Names& names) {
  const LayerSpec& layer = config.layers[i];
  if (layer.inputs.empty()) return {static_cast<int64_t>(i) - 1};
  std::vector<int64_t> out;
  for (const std::string& name : layer.inputs) {
    const auto it = names.find(name);
    out.push_back(name == "input"     ? LayerSpec::kModelInput
                  : it == names.end() ? -2
                                      : static_cast<int64_t>(it->second));
  }
  return out;
}

/// A path of reads from layer `from` back to layer `to` (depth first), or empty if `from` does not depend on
/// `to`.
std::vector<std::size_t> dependency_path(const ModelConfig& config, const Names& names, std::size_t from,
                                         std::size_t to, std::vector<bool>& visited) {
  if (from == to) return {to};
  if (visited[from]) return {};
  visited[from] = true;
  for (const int64_t input : declared_inputs(config, from, names)) {
    if (input < 0) continue;
    std::vector<std::size_t> path =
        dependency_path(config, names, static_cast<std::size_t>(input), to, visited);
    if (!path.empty()) {
      path.insert(path.begin(), from);
      return path;
    }
  }
  return {};
}

/// A layer may read only layers listed above it, so the list is an order in which the model runs (as in
/// PyTorch's FX graphs and Keras' functional models). A later layer is a cycle if it depends on this one.
ConfigError later_layer_error(const ModelConfig& config, const Names& names, std::size_t i, std::size_t j,
                              std::size_t read) {
  std::vector<bool> visited(config.layers.size(), false);
  const std::vector<std::size_t> path =
      read == i ? std::vector<std::size_t>{} : dependency_path(config, names, read, i, visited);
  if (read == i || !path.empty()) {
    std::string cycle = layer_label(config, i);
    if (read == i) cycle += " reads itself";
    for (const std::size_t k : path)
      cycle += " reads " + layer_label(config, k);
    return ConfigError(config.source, inputs_pointer(i, j), "the layers form a cycle: " + cycle);
  }
  return ConfigError(config.source, inputs_pointer(i, j),
                     layer_label(config, read) + " comes after " + layer_label(config, i) +
                         "; list every layer below the layers it reads");
}

std::string named_layers_text(const Names& names) {
  std::vector<std::string> quoted;
  for (const auto& [name, index] : names)
    quoted.push_back("\"" + name + "\"");
  return quoted.empty() ? "no layer has a \"name\"" : "the named layers are " + join(quoted);
}

/// Layer `i`'s inputs as layer indices (kModelInput for the model input), checked: each names a layer above
/// it (or "input"), and as many as its kind reads.
std::vector<int64_t> resolve_inputs(const ModelConfig& config, std::size_t i, const Names& names) {
  const LayerSpec& layer = config.layers[i];
  std::vector<int64_t> resolved;
  for (std::size_t j = 0; j < layer.inputs.size(); ++j) {
    const std::string& name = layer.inputs[j];
    if (name == "input") {
      resolved.push_back(LayerSpec::kModelInput);
      continue;
    }
    const auto it = names.find(name);
    if (it == names.end()) {
      throw ConfigError(config.source, inputs_pointer(i, j),
                        "unknown layer name \"" + name + "\" (" + named_layers_text(names) +
                            "; \"input\" is the model input)");
    }
    if (it->second >= i) throw later_layer_error(config, names, i, j, it->second);
    resolved.push_back(static_cast<int64_t>(it->second));
  }
  if (layer.inputs.empty()) resolved.push_back(static_cast<int64_t>(i) - 1);

  const LayerKind& kind = *layer.kind;
  const auto count = static_cast<int64_t>(resolved.size());
  if (count < kind.min_inputs || (kind.max_inputs != LayerKind::kAnyNumber && count > kind.max_inputs)) {
    const std::string wanted =
        kind.min_inputs == kind.max_inputs ? std::to_string(kind.min_inputs)
        : kind.max_inputs == LayerKind::kAnyNumber
            ? std::to_string(kind.min_inputs) + " or more"
            : std::to_string(kind.min_inputs) + " to " + std::to_string(kind.max_inputs);
    const std::string pointer = util::json_pointer_append("/layers", i);
    throw ConfigError(config.source,
                      layer.inputs.empty() ? pointer : util::json_pointer_append(pointer, "inputs"),
                      kind.name + " reads " + wanted + (wanted == "1" ? " layer" : " layers") + " but " +
                          (layer.inputs.empty() ? "has no \"inputs\" (so reads only the layer before it)"
                                                : "its \"inputs\" name " + std::to_string(count)));
  }
  return resolved;
}

/// Only the last layer's output leaves the model: another layer nobody reads is a mistake in the config
/// (its result would be computed and thrown away).
void require_every_output_read(const ModelConfig& config) {
  std::vector<bool> read(config.layers.size(), false);
  for (const LayerSpec& layer : config.layers) {
    for (const int64_t input : layer.input_layers) {
      if (input >= 0) read[static_cast<std::size_t>(input)] = true;
    }
  }
  for (std::size_t i = 0; i + 1 < config.layers.size(); ++i) {
    if (read[i]) continue;
    throw ConfigError(config.source, util::json_pointer_append("/layers", i),
                      "no layer reads the output of " + layer_label(config, i) +
                          " (only the last layer's output leaves the model); name it in a later layer's "
                          "\"inputs\" or remove it");
  }
}

}  // namespace

void infer_shapes(ModelConfig& config) {
  if (config.layers.empty()) throw ConfigError(config.source, "/layers", "the model has no layers");
  // The graph first (names, inputs, every output read), then the shapes along it.
  const Names names = layer_names(config);
  for (std::size_t i = 0; i < config.layers.size(); ++i)
    config.layers[i].input_layers = resolve_inputs(config, i, names);
  require_every_output_read(config);
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    LayerSpec& layer = config.layers[i];
    assert(layer.stride > 0 && layer.padding >= 0 && layer.dilation > 0 && layer.groups > 0 &&
           "unchecked LayerSpec");
    const LayerSite site{config.source, util::json_pointer_append("/layers", i), layer.kind->name};
    std::vector<Shape> inputs;
    for (const int64_t input : layer.input_layers) {
      inputs.push_back(input == LayerSpec::kModelInput
                           ? config.input_shape
                           : config.layers[static_cast<std::size_t>(input)].output_shape);
    }
    layer.input_shape = inputs.front();
    layer.parameter_count = 0;
    layer.buffer_count = 0;
    layer.output_shape = layer.kind->infer(layer, inputs, site);
    site.checked_numel(layer.output_shape, "output");
  }
  const Shape& shape = config.layers.back().output_shape;
  if (shape.size() != 1) {
    const std::size_t last = config.layers.size() - 1;
    throw ConfigError(config.source, "/layers",
                      "the model must output [N, classes] but its last layer (" + std::to_string(last) +
                          ", " + config.layers[last].kind->name + ") outputs " + batch_shape_string(shape) +
                          "; end the model with flatten and linear");
  }
}

}  // namespace qg::config
