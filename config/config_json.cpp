#include "config/config_json.h"

#include "config/layer_kind.h"

namespace qg::config {

namespace {

using json = nlohmann::json;

json layer_quant_to_json(const LayerQuantConfig& q) {
  json out = json::object();
  if (q.method) out["method"] = *q.method;
  if (q.weight_bits && q.weight_bits == q.activation_bits) {
    out["bits"] = *q.weight_bits;
    return out;
  }
  if (q.weight_bits) out["weight_bits"] = *q.weight_bits;
  if (q.activation_bits) out["activation_bits"] = *q.activation_bits;
  return out;
}

// The kind's keys, except the inferred sizes (parsing infers them again) and an empty "quant".
json layer_to_json(const LayerSpec& layer) {
  json out = {{"type", layer.kind->name}};
  if (!layer.name.empty()) out["name"] = layer.name;
  if (!layer.inputs.empty()) out["inputs"] = layer.inputs;  // as written: a chain's layers have none
  for (const LayerKey& key : layer.kind->keys) {
    switch (key.type) {
      case LayerKey::Type::kInteger:
        if (key.absent != LayerKey::Absent::kInferred) out[key.name] = layer.*key.integer;
        break;
      case LayerKey::Type::kNumber:
        out[key.name] = layer.*key.number;
        break;
      case LayerKey::Type::kBoolean:
        out[key.name] = layer.*key.boolean;
        break;
      case LayerKey::Type::kLayerQuant:
        if (!layer.quant.empty()) out[key.name] = layer_quant_to_json(layer.quant);
        break;
    }
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

// Optional fields are written only when the config sets them, so that the method's defaults still apply
// after a round trip (config/quant_recipe.h).
json quant_to_json(const QuantConfig& q) {
  json out = {{"method", q.method},
              {"bits", q.bits},
              {"observer_momentum", q.observer_momentum},
              {"percentile", q.percentile},
              {"ptq_batches", q.ptq_batches},
              {"qat_epochs", q.qat_epochs},
              {"weight_decay", q.weight_decay},
              {"lr_step_epochs", q.lr_step_epochs},
              {"lr_gamma", q.lr_gamma}};
  const auto put = [&](const char* key, const auto& field) {
    if (field) out[key] = *field;
  };
  put("input_bits", q.input_bits);
  put("first_layer_bits", q.first_layer_bits);
  put("last_layer_bits", q.last_layer_bits);
  put("observer", q.observer);
  put("per_channel", q.per_channel);
  put("symmetric", q.symmetric);
  put("signed", q.is_signed);
  put("ste", q.ste);
  put("qat_optimizer", q.qat_optimizer);
  put("qat_lr", q.qat_lr);
  put("qat_momentum", q.qat_momentum);
  put("lr_schedule", q.lr_schedule);
  put("warmup_epochs", q.warmup_epochs);
  for (const auto& [key, epoch] : {std::pair{"freeze_observers_epoch", q.freeze_observers_epoch},
                                   std::pair{"freeze_bn_epoch", q.freeze_bn_epoch}}) {
    if (epoch) out[key] = *epoch == QuantConfig::kNever ? json() : json(*epoch);
  }
  return out;
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
