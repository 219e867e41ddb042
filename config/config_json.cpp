#include "config/config_json.h"

namespace qg::config {

namespace {

using json = nlohmann::json;

json layer_to_json(const LayerSpec& layer) {
  json out = {{"type", layer_json_name(layer.type)}};
  switch (layer.type) {
    case LayerType::kConv2d:
      out["out_channels"] = layer.out_channels;
      out["kernel_size"] = layer.kernel_size;
      out["stride"] = layer.stride;
      out["padding"] = layer.padding;
      out["dilation"] = layer.dilation;
      out["groups"] = layer.groups;
      out["bias"] = layer.bias;
      break;
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d:
      out["kernel_size"] = layer.kernel_size;
      out["stride"] = layer.stride;
      out["padding"] = layer.padding;
      break;
    case LayerType::kBatchNorm2d:
      out["eps"] = layer.eps;
      out["momentum"] = layer.momentum;
      break;
    case LayerType::kLinear:
      out["out_features"] = layer.out_features;
      out["bias"] = layer.bias;
      break;
    case LayerType::kReLU:
    case LayerType::kFlatten:
      break;
  }
  return out;
}

json train_to_json(const TrainConfig& t) {
  return {{"epochs", t.epochs},
          {"batch_size", t.batch_size},
          {"test_batch_size", t.test_batch_size},
          {"optimizer", t.optimizer},
          {"lr", t.lr},
          {"momentum", t.momentum},
          {"weight_decay", t.weight_decay},
          {"nesterov", t.nesterov},
          {"seed", t.seed},
          {"beta1", t.beta1},
          {"beta2", t.beta2},
          {"eps", t.eps}};
}

json quant_to_json(const QuantConfig& q) {
  return {{"bits", q.bits},
          {"observer", q.observer},
          {"per_channel", q.per_channel},
          {"symmetric", q.symmetric},
          {"signed", q.is_signed},
          {"ptq_batches", q.ptq_batches},
          {"qat_epochs", q.qat_epochs},
          {"qat_lr", q.qat_lr},
          {"qat_momentum", q.qat_momentum},
          {"ste", q.ste},
          {"observer_momentum", q.observer_momentum},
          {"percentile", q.percentile}};
}

}  // namespace

json config_to_json(const ModelConfig& config) {
  json layers = json::array();
  for (const LayerSpec& layer : config.layers)
    layers.push_back(layer_to_json(layer));
  json out = {{"name", config.name},
              {"input", {{"shape", config.input_shape}}},
              {"layers", layers},
              {"train", train_to_json(config.train)},
              {"data", {{"dataset", config.data.dataset}, {"root", config.data.root}}},
              {"quant", quant_to_json(config.quant)}};
  if (!config.description.empty()) out["description"] = config.description;
  return out;
}

}  // namespace qg::config
