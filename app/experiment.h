// What every tool sets up from a config: the config with command-line overrides applied, the data, the
// float model and its optimizer; and the training checkpoints that let a run resume.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/model_config.h"
#include "datasets/mnist.h"
#include "nn/checkpoint.h"
#include "nn/layers/sequential.h"
#include "nn/optim/optimizer.h"

namespace qg::app {

/// Command-line overrides of a config's train/data sections (unset = keep the config's value).
struct Overrides {
  std::optional<int64_t> epochs, batch_size, seed;
  std::optional<double> lr;
  std::optional<std::string> data_root;
};

/// Loads `path`, applies the overrides and re-checks the result (config::revalidate).
config::ModelConfig load_config_with(const std::string& path, const Overrides& overrides);

/// The dataset named by `config.data` (root "" = the dataset's default root).
data::MnistDataset load_dataset(const config::DataConfig& config, data::Split split);

/// SGD or Adam from the train section, over `parameters`, at learning rate `lr`.
std::unique_ptr<nn::Optimizer> make_optimizer(const config::TrainConfig& train, std::vector<Tensor> parameters,
                                              double lr);

/// Sets the threads OpenBLAS may use (1..64); throws std::invalid_argument outside that range.
void set_threads(int64_t threads);

/// A training checkpoint: the model's state under "model.", the optimizer's under "optimizer.", and
/// metadata {"kind", "config", "epoch", ...} so that --resume continues where the run stopped.
void save_training_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer* optimizer,
                              const nlohmann::json& metadata);
/// Loads the "model." tensors of a training checkpoint into `model` (strict, all-or-nothing), checking that
/// it was saved from the config `config_name`. Returns the checkpoint (for its metadata and optimizer state).
nn::Checkpoint load_training_checkpoint(const std::string& path, const nn::Module& model,
                                        const std::string& config_name);
/// Restores an optimizer's state from a checkpoint loaded with load_training_checkpoint.
void restore_optimizer(const nn::Checkpoint& checkpoint, const nn::Optimizer& optimizer, const std::string& path);

}  // namespace qg::app
