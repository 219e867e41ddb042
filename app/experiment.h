// What every tool sets up from a config: the config with command-line overrides applied, the data, the
// float model and its optimizer; and the training checkpoints that let a run resume.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/training.h"
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
  /// Use only the first N images of the training / test split (--train-limit, --test-limit): a fixed
  /// subset for quick, reproducible runs such as scripts/results' canary figures. Unset = the whole split.
  std::optional<int64_t> train_limit, test_limit;
};

/// Loads `path`, applies the overrides and re-checks the result (config::revalidate, check_model_size).
config::ModelConfig load_config_with(const std::string& path, const Overrides& overrides);

/// The most float32 values a model's parameters and buffers may hold: 2^28 (1 GiB); and one layer's output
/// for a whole batch: 2^30 (4 GiB). A config is checked against them before anything is allocated, so that a
/// typo (out_features 10000000) is an error message and not an allocation that takes the machine's memory.
inline constexpr int64_t kMaxModelElements = int64_t{1} << 28;
inline constexpr int64_t kMaxActivationElements = int64_t{1} << 30;
/// Throws std::runtime_error naming the config (and the layer) when it exceeds either limit.
void check_model_size(const config::ModelConfig& config);

/// The dataset named by `config.data` (root "" = the dataset's default root).
data::MnistDataset load_dataset(const config::DataConfig& config, data::Split split);
/// Same, cut to its first `overrides.train_limit` / `test_limit` images (by `split`) when that is set.
data::MnistDataset load_dataset(const config::DataConfig& config, data::Split split,
                                const Overrides& overrides);

/// Checks that `dataset` has the images and classes `config`'s model takes (e.g. 28x28 one-channel images,
/// 10 classes); throws std::runtime_error naming both shapes, before any training starts.
void check_data_fits(const config::ModelConfig& config, const data::MnistDataset& dataset);

/// SGD or Adam from the train section, over `parameters`, at learning rate `lr`.
std::unique_ptr<nn::Optimizer> make_optimizer(const config::TrainConfig& train,
                                              std::vector<Tensor> parameters, double lr);

/// Sets the threads OpenBLAS may use (1..64); throws std::invalid_argument outside that range.
void set_threads(int64_t threads);
/// The tools' --threads: `threads` when given. Without it, a plain run keeps the default (every core);
/// under mpirun the ranks on this machine share its cores, so each takes cores / local ranks (at least 1).
/// Under mpirun, a --threads that makes the local ranks ask for more threads than there are cores is kept
/// but warned about once (by rank 0): the ranks then slow each other down (docs/distributed.md).
void set_tool_threads(std::optional<int64_t> threads);

/// A training checkpoint: the model's state under "model.", the optimizer's under "optimizer.", and
/// metadata (checkpoint_metadata) so that --resume continues where the run stopped. Written atomically, by
/// rank 0 alone in a data-parallel run (app/distributed.h; the other ranks return at once).
void save_training_checkpoint(const std::string& path, const nn::Module& model,
                              const nn::Optimizer* optimizer, const nlohmann::json& metadata);

/// The metadata of a training checkpoint of `kind` ("float" or "qat"):
///   {"kind", "config", "seed", "batch_size", "train_images", "epoch": epochs completed,
///    "progress": progress_to_json(progress)}
nlohmann::json checkpoint_metadata(const std::string& kind, const config::ModelConfig& config,
                                   const TrainingProgress& progress, int64_t train_images);

/// metadata[key] of a checkpoint as text: the string itself, other JSON values dumped, "" when the metadata
/// is not an object or has no such key. (Checkpoint metadata comes from a file: nothing about it is assumed.)
std::string metadata_string(const nlohmann::json& metadata, const std::string& key);
/// metadata[key] as a number, `fallback` when absent or not a number.
double metadata_number(const nlohmann::json& metadata, const std::string& key, double fallback);

/// Loads the "model." tensors of a training checkpoint into `model` (strict, all-or-nothing), checking that
/// it is a `kind` checkpoint saved from the config `config_name` (a checkpoint without these fields, e.g.
/// from nn::save_module, passes). Returns the checkpoint (for its metadata and optimizer state).
nn::Checkpoint load_training_checkpoint(const std::string& path, const nn::Module& model,
                                        const std::string& config_name, const std::string& kind = "float");
/// Restores an optimizer's state from a checkpoint loaded with load_training_checkpoint.
void restore_optimizer(const nn::Checkpoint& checkpoint, const nn::Optimizer& optimizer,
                       const std::string& path);

/// Where the run saved in `checkpoint` stopped, checked against this run so that resuming continues the
/// same run: the seed must match and, in the middle of an epoch, the batch size and training-set size too.
/// A checkpoint from before "progress" was recorded resumes at the start of the epoch after "epoch".
/// Throws nn::CheckpointError naming `path` and the mismatch.
TrainingProgress resume_progress(const nn::Checkpoint& checkpoint, const std::string& path,
                                 const config::ModelConfig& config, int64_t train_images,
                                 int64_t batches_per_epoch);

/// Checks that `dir` is a writable folder or, if it does not exist yet, that it can be created (its nearest
/// existing ancestor is a writable folder). Throws std::runtime_error naming it. For outputs whose folder a
/// tool creates itself (runs/, sweep's --out-dir), and creates only once all inputs have been checked, so
/// that a run failing its checks leaves nothing behind.
void check_output_folder(const std::string& dir);
/// check_writable(path) (app/report.h), except that a missing folder of `path` is fine when
/// `folder_will_be_created` and check_output_folder accepts it.
void check_output_path(const std::string& path, bool folder_will_be_created);

/// Deletes the "<path>.tmp.<pid>" files that a process killed while saving `path` left behind (those whose
/// pid is no longer running). They are never read; this only keeps the folder tidy. Rank 0 alone does it in a
/// data-parallel run (another host's pids mean nothing here).
void remove_stale_temp_files(const std::string& path);

}  // namespace qg::app
