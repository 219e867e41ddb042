#include "config/model_config.h"

#include <cassert>

namespace qg::config {

const Shape& ModelConfig::output_shape() const {
  return layers.empty() ? input_shape : layers.back().output_shape;
}

int64_t ModelConfig::parameter_count() const {
  int64_t total = 0;
  for (const LayerSpec& layer : layers)
    total += layer.parameter_count;
  return total;
}

int64_t ModelConfig::buffer_count() const {
  int64_t total = 0;
  for (const LayerSpec& layer : layers)
    total += layer.buffer_count;
  return total;
}

const char* layer_json_name(LayerType type) {
  switch (type) {
    case LayerType::kConv2d:
      return "conv2d";
    case LayerType::kMaxPool2d:
      return "maxpool2d";
    case LayerType::kAvgPool2d:
      return "avgpool2d";
    case LayerType::kReLU:
      return "relu";
    case LayerType::kBatchNorm2d:
      return "batchnorm2d";
    case LayerType::kLinear:
      return "linear";
    case LayerType::kFlatten:
      return "flatten";
  }
  assert(false && "unhandled LayerType");
  return "?";
}

const char* layer_module_name(LayerType type) {
  switch (type) {
    case LayerType::kConv2d:
      return "Conv2d";
    case LayerType::kMaxPool2d:
      return "MaxPool2d";
    case LayerType::kAvgPool2d:
      return "AvgPool2d";
    case LayerType::kReLU:
      return "ReLU";
    case LayerType::kBatchNorm2d:
      return "BatchNorm2d";
    case LayerType::kLinear:
      return "Linear";
    case LayerType::kFlatten:
      return "Flatten";
  }
  assert(false && "unhandled LayerType");
  return "?";
}

const std::vector<LayerType>& all_layer_types() {
  static const std::vector<LayerType> types = {
      LayerType::kConv2d,      LayerType::kMaxPool2d, LayerType::kAvgPool2d, LayerType::kReLU,
      LayerType::kBatchNorm2d, LayerType::kLinear,    LayerType::kFlatten};
  return types;
}

}  // namespace qg::config
