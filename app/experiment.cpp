#include "app/experiment.h"

#include <stdexcept>

#include "config/loader.h"
#include "core/blas.h"
#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"

namespace qg::app {

config::ModelConfig load_config_with(const std::string& path, const Overrides& o) {
  config::ModelConfig c = config::load_config(path);
  if (o.epochs) c.train.epochs = *o.epochs;
  if (o.batch_size) c.train.batch_size = *o.batch_size;
  if (o.seed) c.train.seed = static_cast<uint64_t>(*o.seed);
  if (o.lr) c.train.lr = *o.lr;
  if (o.data_root) c.data.root = *o.data_root;
  return config::revalidate(c);
}

data::MnistDataset load_dataset(const config::DataConfig& config, data::Split split) {
  const data::DatasetKind kind = data::parse_dataset_kind(config.dataset);
  return config.root.empty() ? data::MnistDataset(kind, split) : data::MnistDataset(kind, split, config.root);
}

std::unique_ptr<nn::Optimizer> make_optimizer(const config::TrainConfig& t, std::vector<Tensor> parameters,
                                              double lr) {
  if (t.optimizer == "adam") {
    return std::make_unique<nn::Adam>(std::move(parameters),
                                      nn::AdamOptions{lr, t.beta1, t.beta2, t.eps, t.weight_decay});
  }
  if (t.optimizer == "sgd") {
    return std::make_unique<nn::Sgd>(std::move(parameters), nn::SgdOptions{lr, t.momentum, t.weight_decay, t.nesterov});
  }
  throw std::invalid_argument("unknown optimizer \"" + t.optimizer + "\" (expected sgd or adam)");
}

void set_threads(int64_t threads) {
  if (threads < 1 || threads > 64) throw std::invalid_argument("threads must be in 1..64, got " + std::to_string(threads));
  blas::set_num_threads(static_cast<int>(threads));
}

void save_training_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer* optimizer,
                              const nlohmann::json& metadata) {
  nn::Checkpoint checkpoint;
  for (auto& [name, t] : model.state()) checkpoint.tensors.emplace_back("model." + name, t);
  if (optimizer) {
    for (auto& [name, t] : optimizer->state()) checkpoint.tensors.emplace_back("optimizer." + name, t);
  }
  checkpoint.metadata = metadata;
  nn::save_checkpoint(path, checkpoint);
}

nn::Checkpoint load_training_checkpoint(const std::string& path, const nn::Module& model,
                                        const std::string& config_name) {
  nn::Checkpoint checkpoint = nn::load_checkpoint(path);
  const std::string saved_config = checkpoint.metadata.value("config", "");
  if (!saved_config.empty() && saved_config != config_name) {
    throw nn::CheckpointError("checkpoint: " + path + ": saved from config \"" + saved_config +
                              "\", but this run uses \"" + config_name + "\"");
  }
  nn::copy_state(checkpoint, "model.", model.state(), "checkpoint: " + path);
  return checkpoint;
}

void restore_optimizer(const nn::Checkpoint& checkpoint, const nn::Optimizer& optimizer, const std::string& path) {
  nn::copy_state(checkpoint, "optimizer.", optimizer.state(), "checkpoint: " + path + " (optimizer state)");
}

}  // namespace qg::app
