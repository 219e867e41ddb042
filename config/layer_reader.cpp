// Reading one entry of "layers": its type first, then the keys that type accepts.
#include <algorithm>

#include "config/config_error.h"
#include "config/object_reader.h"
#include "config/section_readers.h"
#include "config/shape_inference.h"
#include "util/json_pointer.h"

namespace qg::config {

namespace {

using json = nlohmann::json;

std::vector<std::string> layer_type_names() {
  std::vector<std::string> names;
  for (const LayerType type : all_layer_types())
    names.emplace_back(layer_json_name(type));
  return names;
}

LayerType read_layer_type(const json& layer, const std::string& pointer, const std::string& source) {
  const std::string type_pointer = util::json_pointer_append(pointer, "type");
  const std::string expected = "expected one of " + join(layer_type_names());
  if (!layer.contains("type"))
    throw ConfigError(source, type_pointer, "missing layer type (" + expected + ")");
  const json& type = layer.at("type");
  if (!type.is_string())
    throw ConfigError(source, type_pointer, expected + ", found " + describe_found(type));
  for (const LayerType candidate : all_layer_types()) {
    if (type.get<std::string>() == layer_json_name(candidate)) return candidate;
  }
  throw ConfigError(source, type_pointer, "unknown layer type " + type.dump() + " (" + expected + ")");
}

// A window size (kernel_size, stride, padding, dilation) the integer runtime can take: what trains must
// also quantize (docs/config.md, 2.1).
int64_t window_size(const ObjectReader& r, const char* key, int64_t value) {
  if (value > kMaxWindowSize) {
    throw r.error(key, std::string(key) + " " + std::to_string(value) +
                           " is more than 2^30 = " + std::to_string(kMaxWindowSize) +
                           ", the largest window size the integer model of ptq and train_qat takes");
  }
  return value;
}

void read_conv2d(const ObjectReader& r, LayerSpec& layer) {
  layer.out_channels = r.integer("out_channels", kPositive);
  layer.kernel_size = window_size(r, "kernel_size", r.integer("kernel_size", kPositive));
  layer.in_channels = r.integer("in_channels", kPositive, 0);
  layer.stride = window_size(r, "stride", r.integer("stride", kPositive, 1));
  layer.padding = window_size(r, "padding", r.integer("padding", kNonNegative, 0));
  layer.dilation = window_size(r, "dilation", r.integer("dilation", kPositive, 1));
  layer.groups = r.integer("groups", kPositive, 1);
  layer.bias = r.boolean("bias", true);
}

void read_pool2d(const ObjectReader& r, LayerSpec& layer) {
  layer.kernel_size = window_size(r, "kernel_size", r.integer("kernel_size", kPositive));
  layer.stride = window_size(
      r, "stride", r.integer("stride", kPositive, layer.kernel_size));  // PyTorch: default kernel_size
  layer.padding = window_size(r, "padding", r.integer("padding", kNonNegative, 0));
}

void read_batchnorm2d(const ObjectReader& r, LayerSpec& layer) {
  layer.num_features = r.integer("num_features", kPositive, 0);
  layer.eps = r.number("eps", positive_numbers(), 1e-5);
  layer.momentum = r.number("momentum", NumberRange{0.0, 1.0, false, false}, 0.1);
}

void read_linear(const ObjectReader& r, LayerSpec& layer) {
  layer.out_features = r.integer("out_features", kPositive);
  layer.in_features = r.integer("in_features", kPositive, 0);
  layer.bias = r.boolean("bias", true);
}

}  // namespace

const std::vector<std::string>& layer_keys(LayerType type) {
  static const std::vector<std::string> conv2d = {"type",   "out_channels", "kernel_size", "in_channels",
                                                  "stride", "padding",      "dilation",    "groups",
                                                  "bias",   "quant"};
  static const std::vector<std::string> pool2d = {"type", "kernel_size", "stride", "padding"};
  static const std::vector<std::string> batchnorm2d = {"type", "num_features", "eps", "momentum"};
  static const std::vector<std::string> linear = {"type", "out_features", "in_features", "bias", "quant"};
  static const std::vector<std::string> type_only = {"type"};
  switch (type) {
    case LayerType::kConv2d:
      return conv2d;
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d:
      return pool2d;
    case LayerType::kBatchNorm2d:
      return batchnorm2d;
    case LayerType::kLinear:
      return linear;
    case LayerType::kReLU:
    case LayerType::kFlatten:
      return type_only;
  }
  return type_only;
}

LayerSpec read_layer(const json& value, const std::string& pointer, const std::string& source) {
  if (!value.is_object()) {
    throw ConfigError(source, pointer,
                      "expected a layer object such as {\"type\": \"relu\"}, found " + describe_found(value));
  }
  LayerSpec layer;
  layer.type = read_layer_type(value, pointer, source);
  const ObjectReader r(value, pointer, source, layer_json_name(layer.type), layer_keys(layer.type));
  if (r.has("quant")) layer.quant = read_layer_quant(value.at("quant"), r.pointer("quant"), source);
  switch (layer.type) {
    case LayerType::kConv2d:
      read_conv2d(r, layer);
      break;
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d:
      read_pool2d(r, layer);
      break;
    case LayerType::kBatchNorm2d:
      read_batchnorm2d(r, layer);
      break;
    case LayerType::kLinear:
      read_linear(r, layer);
      break;
    case LayerType::kReLU:
    case LayerType::kFlatten:
      break;
  }
  return layer;
}

}  // namespace qg::config
