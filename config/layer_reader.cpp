// Reading one entry of "layers": its type first, then the keys its kind accepts (config/layer_kind.h).
#include "config/config_error.h"
#include "config/layer_kind.h"
#include "config/object_reader.h"
#include "config/section_readers.h"
#include "util/json_pointer.h"

namespace qg::config {

namespace {

using json = nlohmann::json;

const LayerKind& read_layer_kind(const json& layer, const std::string& pointer, const std::string& source) {
  const std::string type_pointer = util::json_pointer_append(pointer, "type");
  const std::string expected = "expected one of " + join(layer_kind_names());
  if (!layer.contains("type"))
    throw ConfigError(source, type_pointer, "missing layer type (" + expected + ")");
  const json& type = layer.at("type");
  if (!type.is_string())
    throw ConfigError(source, type_pointer, expected + ", found " + describe_found(type));
  if (const LayerKind* kind = find_layer_kind(type.get<std::string>())) return *kind;
  throw ConfigError(source, type_pointer, "unknown layer type " + type.dump() + " (" + expected + ")");
}

// A window size (kernel_size, stride, padding, dilation) the integer runtime can take: what trains must
// also quantize (docs/config.md, 2.1).
int64_t window_size(const ObjectReader& r, const std::string& key, int64_t value) {
  if (value > kMaxWindowSize) {
    throw r.error(key, key + " " + std::to_string(value) +
                           " is more than 2^30 = " + std::to_string(kMaxWindowSize) +
                           ", the largest window size the integer model of ptq and train_qat takes");
  }
  return value;
}

void read_integer_key(const ObjectReader& r, const LayerKind& kind, const LayerKey& key, LayerSpec& layer) {
  int64_t value = 0;
  switch (key.absent) {
    case LayerKey::Absent::kRequired:
      value = r.integer(key.name, key.int_range);
      break;
    case LayerKey::Absent::kInferred:
      value = r.integer(key.name, key.int_range, 0);  // 0: shape inference fills it in
      break;
    case LayerKey::Absent::kDefault:
      value = r.integer(key.name, key.int_range, key.int_default);
      break;
    case LayerKey::Absent::kSameAs:
      value = r.integer(key.name, key.int_range, layer.*(kind.find_key(key.same_as)->integer));
      break;
  }
  layer.*key.integer = key.window ? window_size(r, key.name, value) : value;
}

// "name" and "inputs", which every kind has (graph configs, docs/config.md 2.2). Whether the names exist and
// the inputs' count suits the kind is checked by shape inference, which sees the whole model.
void read_graph_keys(const ObjectReader& r, const json& value, const std::string& source, LayerSpec& layer) {
  if (r.has("name")) {
    layer.name = r.string("name", "");
    if (layer.name.empty()) throw r.error("name", "expected a non-empty layer name");
    if (layer.name == "input")
      throw r.error("name", "\"input\" names the model input in \"inputs\"; choose another layer name");
  }
  if (!r.has("inputs")) return;
  const json& inputs = value.at("inputs");
  if (!inputs.is_array() || inputs.empty()) {
    throw r.error("inputs",
                  "expected a non-empty array of layer names such as [\"conv1\", \"input\"], found " +
                      describe_found(inputs));
  }
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    if (!inputs[j].is_string() || inputs[j].get<std::string>().empty()) {
      throw ConfigError(source, util::json_pointer_append(r.pointer("inputs"), j),
                        "expected a layer name (a non-empty string), found " + describe_found(inputs[j]));
    }
    layer.inputs.push_back(inputs[j].get<std::string>());
  }
}

}  // namespace

LayerSpec read_layer(const json& value, const std::string& pointer, const std::string& source) {
  if (!value.is_object()) {
    throw ConfigError(source, pointer,
                      "expected a layer object such as {\"type\": \"relu\"}, found " + describe_found(value));
  }
  LayerSpec layer;
  layer.kind = &read_layer_kind(value, pointer, source);
  const LayerKind& kind = *layer.kind;
  const ObjectReader r(value, pointer, source, kind.name, layer_keys(kind));
  read_graph_keys(r, value, source, layer);
  // The layer's own quant object first, then the other keys in the kind's order.
  if (kind.has_layer_quant() && r.has("quant")) {
    layer.quant = read_layer_quant(value.at("quant"), r.pointer("quant"), source);
  }
  for (const LayerKey& key : kind.keys) {
    switch (key.type) {
      case LayerKey::Type::kInteger:
        read_integer_key(r, kind, key, layer);
        break;
      case LayerKey::Type::kNumber:
        layer.*key.number = r.number(key.name, key.number_range, key.number_default);
        break;
      case LayerKey::Type::kBoolean:
        layer.*key.boolean = r.boolean(key.name, key.bool_default);
        break;
      case LayerKey::Type::kLayerQuant:
        break;  // read above
    }
  }
  return layer;
}

}  // namespace qg::config
