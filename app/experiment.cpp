#include "app/experiment.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "app/distributed.h"
#include "app/report.h"
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
  c = config::revalidate(c);
  check_model_size(c);
  return c;
}

void check_model_size(const config::ModelConfig& config) {
  const auto gib = [](int64_t elements) {
    return std::to_string(elements * 4 / (int64_t{1} << 30)) + " GiB";
  };
  const int64_t state = config.parameter_count() + config.buffer_count();
  if (state > kMaxModelElements) {
    throw std::runtime_error(config.source + ": the model has " + std::to_string(state) +
                             " parameters and buffers (" + gib(state) +
                             " as float32), more than the limit of " + std::to_string(kMaxModelElements) +
                             " (" + gib(kMaxModelElements) + ")");
  }
  for (size_t i = 0; i < config.layers.size(); ++i) {
    int64_t per_sample = 1;
    for (const int64_t d : config.layers[i].output_shape)
      per_sample *= d;  // each below 2^32 (shape inference)
    const int64_t batch = std::max(config.train.batch_size, config.train.test_batch_size);
    if (per_sample > kMaxActivationElements / batch) {
      throw std::runtime_error(
          config.source + ": /layers/" + std::to_string(i) + ": its output of " + std::to_string(per_sample) +
          " values per image, times a batch of " + std::to_string(batch) + ", is more than the limit of " +
          std::to_string(kMaxActivationElements) + " values (" + gib(kMaxActivationElements) + ")");
    }
  }
}

data::MnistDataset load_dataset(const config::DataConfig& config, data::Split split) {
  const data::DatasetKind kind = data::parse_dataset_kind(config.dataset);
  return config.root.empty() ? data::MnistDataset(kind, split) : data::MnistDataset(kind, split, config.root);
}

data::MnistDataset load_dataset(const config::DataConfig& config, data::Split split,
                                const Overrides& overrides) {
  data::MnistDataset full = load_dataset(config, split);
  const std::optional<int64_t> limit =
      split == data::Split::kTrain ? overrides.train_limit : overrides.test_limit;
  return limit ? full.head(*limit) : full;
}

void check_data_fits(const config::ModelConfig& config, const data::MnistDataset& dataset) {
  const Shape images{1, dataset.rows(), dataset.cols()};  // the IDX datasets are grey-scale
  if (config.input_shape != images) {
    throw std::runtime_error(dataset.name() + " (" + config.data.root + "): images are " +
                             std::to_string(dataset.rows()) + "x" + std::to_string(dataset.cols()) +
                             " with 1 channel, i.e. input " + to_string(images) + ", but config \"" +
                             config.name + "\" takes input " + to_string(config.input_shape));
  }
  const Shape classes{data::MnistDataset::kNumClasses};
  if (config.output_shape() != classes) {
    throw std::runtime_error("config \"" + config.name + "\" outputs " + to_string(config.output_shape()) +
                             ", but " + dataset.name() + " has " +
                             std::to_string(data::MnistDataset::kNumClasses) + " classes (expected output " +
                             to_string(classes) + ")");
  }
}

std::unique_ptr<nn::Optimizer> make_optimizer(const config::TrainConfig& t, std::vector<Tensor> parameters,
                                              double lr) {
  if (t.optimizer == "adam") {
    return std::make_unique<nn::Adam>(std::move(parameters),
                                      nn::AdamOptions{lr, t.beta1, t.beta2, t.eps, t.weight_decay});
  }
  if (t.optimizer == "sgd") {
    return std::make_unique<nn::Sgd>(std::move(parameters),
                                     nn::SgdOptions{lr, t.momentum, t.weight_decay, t.nesterov});
  }
  throw std::invalid_argument("unknown optimizer \"" + t.optimizer + "\" (expected sgd or adam)");
}

void set_threads(int64_t threads) {
  if (threads < 1 || threads > 64)
    throw std::invalid_argument("threads must be in 1..64, got " + std::to_string(threads));
  blas::set_num_threads(static_cast<int>(threads));
}

void set_tool_threads(std::optional<int64_t> threads) {
  if (!distributed::started_by_mpirun()) {
    if (threads) set_threads(*threads);
    return;
  }
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t local_ranks = distributed::local_ranks();
  if (!threads) {
    set_threads(std::clamp<int64_t>(cores / local_ranks, 1, 64));
    return;
  }
  set_threads(*threads);
  if (*threads * local_ranks > cores && distributed::world().is_writer()) {
    std::fprintf(stderr,
                 "warning: %lld ranks on this machine x %lld threads each ask for more than its %lld cores; "
                 "they slow each other down (leave --threads out to share the cores)\n",
                 static_cast<long long>(local_ranks), static_cast<long long>(*threads),
                 static_cast<long long>(cores));
  }
}

void save_training_checkpoint(const std::string& path, const nn::Module& model,
                              const nn::Optimizer* optimizer, const nlohmann::json& metadata) {
  if (!distributed::world().is_writer()) return;  // one writer in a data-parallel run: rank 0
  nn::Checkpoint checkpoint;
  for (auto& [name, t] : model.state())
    checkpoint.tensors.emplace_back("model." + name, t);
  if (optimizer) {
    for (auto& [name, t] : optimizer->state())
      checkpoint.tensors.emplace_back("optimizer." + name, t);
  }
  checkpoint.metadata = metadata;
  nn::save_checkpoint(path, checkpoint);
}

nlohmann::json checkpoint_metadata(const std::string& kind, const config::ModelConfig& config,
                                   const TrainingProgress& progress, int64_t train_images) {
  return {{"kind", kind},
          {"config", config.name},
          {"seed", config.train.seed},
          {"batch_size", config.train.batch_size},
          {"train_images", train_images},
          {"epoch", progress.epoch - 1},
          {"progress", progress_to_json(progress)}};
}

std::string metadata_string(const nlohmann::json& metadata, const std::string& key) {
  if (!metadata.is_object() || !metadata.contains(key)) return "";
  return metadata[key].is_string() ? metadata[key].get<std::string>() : metadata[key].dump();
}

double metadata_number(const nlohmann::json& metadata, const std::string& key, double fallback) {
  if (!metadata.is_object() || !metadata.contains(key) || !metadata[key].is_number()) return fallback;
  return metadata[key].get<double>();
}

namespace {

nn::CheckpointError mismatch(const std::string& path, const std::string& what) {
  return nn::CheckpointError("checkpoint: " + path + ": " + what);
}

// metadata[key] as a non-negative integer, or throws naming the key.
int64_t metadata_int(const nlohmann::json& metadata, const char* key, const std::string& path) {
  if (!metadata.is_object() || !metadata.contains(key) || !metadata[key].is_number_integer() ||
      metadata[key].get<int64_t>() < 0) {
    throw mismatch(path, std::string("metadata \"") + key + "\" must be a non-negative integer");
  }
  return metadata[key].get<int64_t>();
}

}  // namespace

nn::Checkpoint load_training_checkpoint(const std::string& path, const nn::Module& model,
                                        const std::string& config_name, const std::string& kind) {
  nn::Checkpoint checkpoint = nn::load_checkpoint(path);
  const std::string saved_kind = metadata_string(checkpoint.metadata, "kind");
  if (!saved_kind.empty() && saved_kind != kind) {
    throw mismatch(path, "a \"" + saved_kind + "\" checkpoint, but a \"" + kind + "\" one is needed here" +
                             (saved_kind == "qat" ? " (resume it with train_qat --resume)" : ""));
  }
  const std::string saved_config = metadata_string(checkpoint.metadata, "config");
  if (!saved_config.empty() && saved_config != config_name) {
    throw mismatch(path,
                   "saved from config \"" + saved_config + "\", but this run uses \"" + config_name + "\"");
  }
  nn::copy_state(checkpoint, "model.", model.state(), "checkpoint: " + path);
  return checkpoint;
}

void restore_optimizer(const nn::Checkpoint& checkpoint, const nn::Optimizer& optimizer,
                       const std::string& path) {
  nn::copy_state(checkpoint, "optimizer.", optimizer.state(), "checkpoint: " + path + " (optimizer state)");
}

TrainingProgress resume_progress(const nn::Checkpoint& checkpoint, const std::string& path,
                                 const config::ModelConfig& config, int64_t train_images,
                                 int64_t batches_per_epoch) {
  const nlohmann::json& m = checkpoint.metadata;
  if (m.is_object() && m.contains("seed") &&
      (!m["seed"].is_number_unsigned() || m["seed"].get<uint64_t>() != config.train.seed)) {
    throw mismatch(path, "saved by a run with seed " + m["seed"].dump() + ", but this run uses seed " +
                             std::to_string(config.train.seed) + " (resuming must continue the same run)");
  }
  if (!m.is_object() || !m.contains("progress")) {  // an epoch-end checkpoint from before "progress"
    const int64_t epochs = metadata_int(m, "epoch", path);
    return TrainingProgress{epochs + 1, 0, epochs * batches_per_epoch, 0.0, 0};
  }
  TrainingProgress progress;
  try {
    progress = progress_from_json(m["progress"]);
  } catch (const std::invalid_argument& e) {
    throw mismatch(path, e.what());
  }
  if (progress.batches_done > 0) {  // in the middle of an epoch: the skipped batches must be the same ones
    const int64_t batch_size = metadata_int(m, "batch_size", path);
    const int64_t images = metadata_int(m, "train_images", path);
    if (batch_size != config.train.batch_size || images != train_images) {
      throw mismatch(
          path, "saved in the middle of an epoch by a run with batch size " + std::to_string(batch_size) +
                    " over " + std::to_string(images) + " training images; this run has batch size " +
                    std::to_string(config.train.batch_size) + " over " + std::to_string(train_images));
    }
    if (progress.batches_done > batches_per_epoch) {
      throw mismatch(path, "progress says " + std::to_string(progress.batches_done) +
                               " batches done, but an epoch has " + std::to_string(batches_per_epoch));
    }
  }
  return progress;
}

void check_output_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path existing = fs::absolute(dir);
  while (!fs::exists(existing) && existing.has_parent_path() && existing != existing.parent_path()) {
    existing = existing.parent_path();
  }
  if (!fs::is_directory(existing)) {
    throw std::runtime_error(dir + ": " + existing.string() +
                             " is not a folder, so the output folder cannot be made");
  }
  if (::access(existing.c_str(), W_OK) != 0) {
    throw std::runtime_error(dir + ": folder " + existing.string() + " is not writable");
  }
}

void check_output_path(const std::string& path, bool folder_will_be_created) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (folder_will_be_created && !fs::exists(dir)) {
    check_output_folder(dir.string());
  } else {
    check_writable(path);
  }
}

void remove_stale_temp_files(const std::string& path) {
  if (!distributed::world().is_writer()) return;  // one writer in a data-parallel run: rank 0
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos ||
        pid_text.size() > 9)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (::kill(pid, 0) == -1 && errno == ESRCH) fs::remove(entry.path(), ec);  // its writer is gone
  }
}

}  // namespace qg::app
