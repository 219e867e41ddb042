// Reading the optional "train", "data" and "quant" sections. A missing key keeps the struct's default
// (config/model_config.h). Keys that only matter for another choice (adam's betas under sgd, the
// percentile under the minmax observer) are accepted and ignored, so switching is a one-word change.
#include "config/dataset_info.h"
#include "config/object_reader.h"
#include "config/quant_recipe.h"
#include "config/section_readers.h"

namespace qg::config {

namespace {

/// [0, 1): momentum-like coefficients; 1 would never forget.
constexpr NumberRange kUnitInterval{0.0, 1.0, false, true};

}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"sgd", "adam"};
  return names;
}

const std::vector<std::string>& observer_names() {
  static const std::vector<std::string> names = {"minmax", "moving_average_minmax", "percentile",
                                                 "histogram"};
  return names;
}

const std::vector<std::string>& ste_names() {
  static const std::vector<std::string> names = {"identity", "clipped"};
  return names;
}

TrainConfig read_train(const nlohmann::json& value, const std::string& source) {
  const ObjectReader r(value, "/train", source, "train",
                       {"epochs", "batch_size", "test_batch_size", "optimizer", "lr", "momentum",
                        "weight_decay", "nesterov", "seed", "beta1", "beta2", "eps"});
  const TrainConfig defaults;
  TrainConfig train;
  train.epochs = r.integer("epochs", kNonNegative, defaults.epochs);
  train.batch_size = r.integer("batch_size", kPositive, defaults.batch_size);
  train.test_batch_size = r.integer("test_batch_size", kPositive, defaults.test_batch_size);
  train.optimizer = r.choice("optimizer", optimizer_names(), defaults.optimizer);
  train.lr = r.number("lr", positive_numbers(), defaults.lr);
  train.momentum = r.number("momentum", kUnitInterval, defaults.momentum);
  train.weight_decay = r.number("weight_decay", non_negative_numbers(), defaults.weight_decay);
  train.nesterov = r.boolean("nesterov", defaults.nesterov);
  train.seed = r.unsigned_integer("seed", defaults.seed);
  train.beta1 = r.number("beta1", kUnitInterval, defaults.beta1);
  train.beta2 = r.number("beta2", kUnitInterval, defaults.beta2);
  train.eps = r.number("eps", positive_numbers(), defaults.eps);
  // torch.optim.SGD raises "Nesterov momentum requires a momentum and zero dampening".
  if (train.optimizer == "sgd" && train.nesterov && train.momentum == 0.0) {
    throw r.error("nesterov", "nesterov needs a positive momentum, found momentum 0");
  }
  return train;
}

DataConfig read_data(const nlohmann::json& value, const std::string& source) {
  const ObjectReader r(value, "/data", source, "data", {"dataset", "root"});
  DataConfig data;
  data.dataset = r.choice("dataset", dataset_names(), DataConfig{}.dataset);
  // Absent or "" both mean the dataset's default root, so that a "--data-root ''" override works too.
  data.root = r.string("root", "");
  if (data.root.empty()) data.root = find_dataset(data.dataset)->default_root;
  return data;
}

namespace {

// Optional fields of the quant section: absent stays nullopt (the method's default).
std::optional<std::string> optional_choice(const ObjectReader& r, const std::string& key,
                                           const std::vector<std::string>& choices) {
  if (!r.has(key)) return std::nullopt;
  return r.choice(key, choices, "");
}

std::optional<bool> optional_boolean(const ObjectReader& r, const std::string& key) {
  if (!r.has(key)) return std::nullopt;
  return r.boolean(key, false);
}

std::optional<int64_t> optional_integer(const ObjectReader& r, const std::string& key, IntRange range) {
  if (!r.has(key)) return std::nullopt;
  return r.integer(key, range);
}

std::optional<double> optional_number(const ObjectReader& r, const std::string& key, NumberRange range) {
  if (!r.has(key)) return std::nullopt;
  return r.number(key, range, 0.0);
}

// An epoch count where JSON null means "never".
std::optional<int64_t> optional_epoch(const ObjectReader& r, const nlohmann::json& value,
                                      const std::string& key) {
  if (!r.has(key)) return std::nullopt;
  if (value.at(key).is_null()) return QuantConfig::kNever;
  return r.integer(key, kNonNegative);
}

constexpr IntRange kBits{1, 8};

}  // namespace

const std::vector<std::string>& lr_schedule_names() {
  static const std::vector<std::string> names = {"constant", "step", "cosine"};
  return names;
}

const std::vector<std::string>& quant_keys() {
  static const std::vector<std::string> keys = {"method",
                                                "bits",
                                                "input_bits",
                                                "first_layer_bits",
                                                "last_layer_bits",
                                                "observer",
                                                "per_channel",
                                                "symmetric",
                                                "signed",
                                                "ste",
                                                "observer_momentum",
                                                "percentile",
                                                "ptq_batches",
                                                "qat_epochs",
                                                "qat_optimizer",
                                                "qat_lr",
                                                "qat_momentum",
                                                "weight_decay",
                                                "lr_schedule",
                                                "warmup_epochs",
                                                "lr_step_epochs",
                                                "lr_gamma",
                                                "freeze_observers_epoch",
                                                "freeze_bn_epoch"};
  return keys;
}

const std::vector<std::string>& layer_quant_keys() {
  static const std::vector<std::string> keys = {"method", "bits", "weight_bits", "activation_bits"};
  return keys;
}

QuantConfig read_quant(const nlohmann::json& value, const std::string& source) {
  const ObjectReader r(value, "/quant", source, "quant", quant_keys());
  const QuantConfig defaults;
  QuantConfig quant;
  quant.method = r.choice("method", method_names(), defaults.method);
  quant.bits = r.integer("bits", kBits, defaults.bits);
  quant.input_bits = optional_integer(r, "input_bits", kBits);
  quant.first_layer_bits = optional_integer(r, "first_layer_bits", kBits);
  quant.last_layer_bits = optional_integer(r, "last_layer_bits", kBits);
  quant.observer = optional_choice(r, "observer", observer_names());
  quant.per_channel = optional_boolean(r, "per_channel");
  quant.symmetric = optional_boolean(r, "symmetric");
  quant.is_signed = optional_boolean(r, "signed");
  quant.ste = optional_choice(r, "ste", ste_names());
  quant.observer_momentum =
      r.number("observer_momentum", NumberRange{0.0, 1.0, true, false}, defaults.observer_momentum);
  // The percentile observer keeps [100 - p, p]: p must lie above the median.
  quant.percentile = r.number("percentile", NumberRange{50.0, 100.0, true, false}, defaults.percentile);
  quant.ptq_batches = r.integer("ptq_batches", kPositive, defaults.ptq_batches);
  quant.qat_epochs = r.integer("qat_epochs", kNonNegative, defaults.qat_epochs);
  quant.qat_optimizer = optional_choice(r, "qat_optimizer", optimizer_names());
  quant.qat_lr = optional_number(r, "qat_lr", positive_numbers());
  quant.qat_momentum = optional_number(r, "qat_momentum", kUnitInterval);
  quant.weight_decay = r.number("weight_decay", non_negative_numbers(), defaults.weight_decay);
  quant.lr_schedule = optional_choice(r, "lr_schedule", lr_schedule_names());
  quant.warmup_epochs = optional_number(r, "warmup_epochs", non_negative_numbers());
  quant.lr_step_epochs = r.integer("lr_step_epochs", kPositive, defaults.lr_step_epochs);
  quant.lr_gamma = r.number("lr_gamma", NumberRange{0.0, 1.0, true, false}, defaults.lr_gamma);
  quant.freeze_observers_epoch = optional_epoch(r, value, "freeze_observers_epoch");
  quant.freeze_bn_epoch = optional_epoch(r, value, "freeze_bn_epoch");
  return quant;
}

LayerQuantConfig read_layer_quant(const nlohmann::json& value, const std::string& pointer,
                                  const std::string& source) {
  const ObjectReader r(value, pointer, source, "a layer's quant", layer_quant_keys());
  LayerQuantConfig q;
  if (r.has("method")) q.method = r.choice("method", method_names(), "");
  if (r.has("bits") && (r.has("weight_bits") || r.has("activation_bits"))) {
    throw r.error("bits", "give either bits (both) or weight_bits/activation_bits, not both");
  }
  const std::optional<int64_t> both = optional_integer(r, "bits", kBits);
  q.weight_bits = both ? both : optional_integer(r, "weight_bits", kBits);
  q.activation_bits = both ? both : optional_integer(r, "activation_bits", kBits);
  return q;
}

}  // namespace qg::config
