#include "config/quant_recipe.h"

#include <stdexcept>

#include "config/config_error.h"
#include "config/layer_kind.h"

namespace qg::config {

namespace {

// What a method chooses for the fields a config may leave out.
struct MethodDefaults {
  const char* method;
  const char* observer;
  bool per_channel, symmetric, is_signed;
  const char* ste;
  bool fuse_relu;
  const char* qat_optimizer;
  double qat_lr, qat_momentum;
  const char* lr_schedule;
  double warmup_epochs;
  int64_t freeze_observers_epoch, freeze_bn_epoch;
  int64_t input_bits, last_layer_bits;  // 0: `bits`
};

constexpr int64_t kNever = QuantConfig::kNever;

// clang-format off
// The tutorial's row is today's behaviour, so its experiment stays reproducible bit for bit. The other rows
// are the recipes measured in docs/results (low-bit QAT): see docs/05-quantization.md, 5.8, for why each
// choice matters.
constexpr MethodDefaults kDefaults[] = {
  // method     observer                 per_ch sym    signed ste         fuse   optim   lr     mom  schedule   warm obs-frz bn-frz in last
  {"tutorial", "minmax",                 false, false, false, "identity", false, "sgd",  0.01,  0.5, "constant", 0.0, kNever, kNever, 0, 0},
  {"ema",      "moving_average_minmax",  true,  true,  true,  "clipped",  true,  "sgd",  0.01,  0.9, "cosine",   0.5, kNever, 0,      0, 0},
  {"lsq",      "minmax",                 true,  true,  true,  "clipped",  true,  "sgd",  0.01,  0.9, "cosine",   0.5, kNever, 0,      0, 0},
  {"binary",   "minmax",                 true,  true,  true,  "clipped",  true,  "adam", 0.001, 0.9, "cosine",   0.5, kNever, 0,      8, 8},
};
// clang-format on

const MethodDefaults& defaults_of(const std::string& method) {
  for (const MethodDefaults& d : kDefaults) {
    if (method == d.method) return d;
  }
  throw std::invalid_argument("unknown QAT method \"" + method +
                              "\" (expected tutorial, ema, lsq or binary)");
}

}  // namespace

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const MethodDefaults& d : kDefaults)
      out.emplace_back(d.method);
    return out;
  }();
  return names;
}

QuantRecipe resolve_quant(const QuantConfig& q) {
  const MethodDefaults& d = defaults_of(q.method);
  QuantRecipe r;
  r.method = q.method;
  r.bits = q.bits;
  r.observer = q.observer.value_or(d.observer);
  r.per_channel = q.per_channel.value_or(d.per_channel);
  r.symmetric = q.symmetric.value_or(d.symmetric);
  r.is_signed = q.is_signed.value_or(d.is_signed);
  r.ste = q.ste.value_or(d.ste);
  r.fuse_relu = d.fuse_relu;
  r.observer_momentum = q.observer_momentum;
  r.percentile = q.percentile;
  r.ptq_batches = q.ptq_batches;
  r.qat_epochs = q.qat_epochs;
  r.qat_optimizer = q.qat_optimizer.value_or(d.qat_optimizer);
  r.qat_lr = q.qat_lr.value_or(d.qat_lr);
  r.qat_momentum = q.qat_momentum.value_or(d.qat_momentum);
  r.weight_decay = q.weight_decay;
  r.lr_schedule = q.lr_schedule.value_or(d.lr_schedule);
  r.warmup_epochs = q.warmup_epochs.value_or(d.warmup_epochs);
  r.lr_step_epochs = q.lr_step_epochs;
  r.lr_gamma = q.lr_gamma;
  r.freeze_observers_epoch = q.freeze_observers_epoch.value_or(d.freeze_observers_epoch);
  r.freeze_bn_epoch = q.freeze_bn_epoch.value_or(d.freeze_bn_epoch);
  return r;
}

nlohmann::json QuantRecipe::to_json() const {
  const auto epoch = [](int64_t e) {
    return e == QuantConfig::kNever ? nlohmann::json() : nlohmann::json(e);
  };
  return {{"method", method},
          {"bits", bits},
          {"observer", observer},
          {"per_channel", per_channel},
          {"symmetric", symmetric},
          {"signed", is_signed},
          {"ste", ste},
          {"fuse_relu", fuse_relu},
          {"observer_momentum", observer_momentum},
          {"percentile", percentile},
          {"ptq_batches", ptq_batches},
          {"qat_epochs", qat_epochs},
          {"qat_optimizer", qat_optimizer},
          {"qat_lr", qat_lr},
          {"qat_momentum", qat_momentum},
          {"weight_decay", weight_decay},
          {"lr_schedule", lr_schedule},
          {"warmup_epochs", warmup_epochs},
          {"lr_step_epochs", lr_step_epochs},
          {"lr_gamma", lr_gamma},
          {"freeze_observers_epoch", epoch(freeze_observers_epoch)},
          {"freeze_bn_epoch", epoch(freeze_bn_epoch)}};
}

std::vector<LayerQuantRecipe> resolve_layer_quant(const ModelConfig& config) {
  const QuantConfig& q = config.quant;
  const QuantRecipe recipe = resolve_quant(q);
  const MethodDefaults& d = defaults_of(q.method);
  // The model input and the classifier: given, else the method's width (binary keeps them at 8), else bits.
  const int64_t input_bits = q.input_bits.value_or(d.input_bits ? d.input_bits : q.bits);
  const int64_t last_bits = q.last_layer_bits.value_or(d.last_layer_bits);  // 0: as the other layers
  std::vector<LayerQuantRecipe> out;
  for (size_t i = 0; i < config.layers.size(); ++i) {
    const LayerSpec& spec = config.layers[i];
    if (!spec.kind->has_layer_quant()) continue;  // conv2d and linear
    LayerQuantRecipe r;
    r.layer = i;
    r.first = out.empty();
    r.method = spec.quant.method.value_or(q.method);
    r.weight_bits = r.method == "binary" ? 1 : q.bits;  // binary: weights are signs, whatever `bits` says
    r.activation_bits = q.bits;
    r.input_bits = input_bits;
    if (r.first && q.first_layer_bits) r.weight_bits = *q.first_layer_bits;
    out.push_back(r);
  }
  if (!out.empty() && last_bits != 0) {
    out.back().weight_bits = last_bits;
    out.back().activation_bits = last_bits;
  }
  if (!out.empty()) out.back().last = true;
  for (LayerQuantRecipe& r : out) {
    const LayerQuantConfig& own = config.layers[r.layer].quant;
    r.weight_bits = own.weight_bits.value_or(r.weight_bits);
    r.activation_bits = own.activation_bits.value_or(r.activation_bits);
    // The tutorial uses one signedness for weights and activations; a signed 1-bit activation would be
    // binary and could not hold real 0.
    // Under ema only the weights are signed; its activations are unsigned.
    if (r.method == "tutorial" && recipe.is_signed &&
        (r.activation_bits == 1 || (r.first && r.input_bits == 1))) {
      const std::string where = own.empty() ? "/quant" : "/layers/" + std::to_string(r.layer) + "/quant";
      throw ConfigError(
          config.source, where,
          "layer " + std::to_string(r.layer) +
              " would quantize its activations to signed 1-bit "
              "codes, which are binary (+-1) and cannot hold real 0; use unsigned activations, or "
              "\"method\": \"binary\" for binary weights");
    }
  }
  return out;
}

nlohmann::json LayerQuantRecipe::to_json() const {
  nlohmann::json out = {{"layer", layer},
                        {"method", method},
                        {"weight_bits", weight_bits},
                        {"activation_bits", activation_bits}};
  if (first) out["input_bits"] = input_bits;
  return out;
}

std::string method_defaults_markdown() {
  std::string out = "| default of | tutorial | ema | lsq | binary |\n| --- | --- | --- | --- | --- |\n";
  const auto row = [&](const std::string& key, auto field) {
    out.append("| `").append(key).append("` |");
    for (const MethodDefaults& d : kDefaults)
      out.append(" ").append(field(d)).append(" |");
    out.append("\n");
  };
  const auto text = [](const char* s) { return "`\"" + std::string(s) + "\"`"; };
  const auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  const auto number = [](double x) { return nlohmann::json(x).dump(); };
  const auto epoch = [](int64_t e) { return e == kNever ? std::string("null") : std::to_string(e); };
  row("observer", [&](const MethodDefaults& d) { return text(d.observer); });
  row("per_channel", [&](const MethodDefaults& d) { return flag(d.per_channel); });
  row("symmetric", [&](const MethodDefaults& d) { return flag(d.symmetric); });
  row("signed", [&](const MethodDefaults& d) { return flag(d.is_signed); });
  row("ste", [&](const MethodDefaults& d) { return text(d.ste); });
  row("qat_optimizer", [&](const MethodDefaults& d) { return text(d.qat_optimizer); });
  row("qat_lr", [&](const MethodDefaults& d) { return number(d.qat_lr); });
  row("qat_momentum", [&](const MethodDefaults& d) { return number(d.qat_momentum); });
  row("lr_schedule", [&](const MethodDefaults& d) { return text(d.lr_schedule); });
  row("warmup_epochs", [&](const MethodDefaults& d) { return number(d.warmup_epochs); });
  row("freeze_observers_epoch", [&](const MethodDefaults& d) { return epoch(d.freeze_observers_epoch); });
  row("freeze_bn_epoch", [&](const MethodDefaults& d) { return epoch(d.freeze_bn_epoch); });
  const auto width = [](int64_t bits) { return bits ? std::to_string(bits) : std::string("`bits`"); };
  row("input_bits", [&](const MethodDefaults& d) { return width(d.input_bits); });
  row("last_layer_bits", [&](const MethodDefaults& d) { return width(d.last_layer_bits); });
  row("(ReLU before the output quantizer)", [&](const MethodDefaults& d) { return flag(d.fuse_relu); });
  return out;
}

}  // namespace qg::config
