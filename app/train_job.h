// The `train` tool's job, callable from tests: config -> float model trained for N epochs, evaluated after
// each epoch, checkpointed atomically after each epoch, optionally resumed, with a JSON report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/experiment.h"
#include "app/training.h"

namespace qg::app {

struct TrainJob {
  std::string config_path;
  Overrides overrides;
  std::optional<int64_t> threads;       // OpenBLAS threads; unset = OpenBLAS's default
  std::string out;                      // checkpoint path; "" = runs/<config name>.ckpt
  std::optional<std::string> resume;    // continue from this training checkpoint
  std::optional<std::string> report;    // JSON report path
  bool quiet = false;                   // no per-batch log lines (tests)
};

struct TrainOutcome {
  EvalStats test;                       // after the last epoch
  std::vector<double> epoch_accuracy;   // test accuracy after each epoch run here
  int64_t epochs = 0;                   // total epochs the model has now been trained
  double train_seconds = 0.0;           // training only (no evaluation), this run
  double images_per_second = 0.0;
  std::string checkpoint;
};

TrainOutcome run_train_job(const TrainJob& job);

/// Trains `model` from epoch `first_epoch` (1-based) through `config.train.epochs`, evaluating on `test`
/// and saving a training checkpoint to `checkpoint_path` after every epoch. Shared by `train` and by
/// `train_qat` when it has to train the float model first.
TrainOutcome train_float(const config::ModelConfig& config, nn::Sequential& model, nn::Optimizer& optimizer,
                         const data::MnistDataset& train_set, const data::MnistDataset& test,
                         int64_t first_epoch, const std::string& checkpoint_path, bool quiet);

}  // namespace qg::app
