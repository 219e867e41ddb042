// Reading the optional "train", "data" and "quant" sections. A missing key keeps the struct's default
// (config/model_config.h). Keys that only matter for another choice (adam's betas under sgd, the
// percentile under the minmax observer) are accepted and ignored, so switching is a one-word change.
#include "config/dataset_info.h"
#include "config/object_reader.h"
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

QuantConfig read_quant(const nlohmann::json& value, const std::string& source) {
  const ObjectReader r(value, "/quant", source, "quant",
                       {"bits", "observer", "per_channel", "symmetric", "signed", "ptq_batches", "qat_epochs",
                        "qat_lr", "qat_momentum", "ste", "observer_momentum", "percentile"});
  const QuantConfig defaults;
  QuantConfig quant;
  quant.bits = r.integer("bits", IntRange{1, 8}, defaults.bits);
  quant.observer = r.choice("observer", observer_names(), defaults.observer);
  quant.per_channel = r.boolean("per_channel", defaults.per_channel);
  quant.symmetric = r.boolean("symmetric", defaults.symmetric);
  quant.is_signed = r.boolean("signed", defaults.is_signed);
  quant.ptq_batches = r.integer("ptq_batches", kPositive, defaults.ptq_batches);
  quant.qat_epochs = r.integer("qat_epochs", kNonNegative, defaults.qat_epochs);
  quant.qat_lr = r.number("qat_lr", positive_numbers(), defaults.qat_lr);
  quant.qat_momentum = r.number("qat_momentum", kUnitInterval, defaults.qat_momentum);
  quant.ste = r.choice("ste", ste_names(), defaults.ste);
  quant.observer_momentum =
      r.number("observer_momentum", NumberRange{0.0, 1.0, true, false}, defaults.observer_momentum);
  quant.percentile = r.number("percentile", NumberRange{50.0, 100.0, true, false}, defaults.percentile);
  return quant;
}

}  // namespace qg::config
