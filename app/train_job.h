// The `train` tool's job, callable from tests: config -> float model trained for N epochs, evaluated after
// each epoch, checkpointed atomically after each epoch (and every N steps if asked), optionally resumed
// exactly where a previous run stopped, with a JSON report.
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
  std::optional<int64_t> threads;  // OpenBLAS threads; unset = OpenBLAS's default
  std::string out;  // checkpoint path; "" = the resume checkpoint, else runs/<config name>.ckpt
  std::optional<std::string> resume;  // continue from this training checkpoint
  int64_t checkpoint_every = 0;       // also checkpoint every N optimizer steps (0: at epoch ends only)
  std::optional<std::string> report;  // JSON report path
  bool quiet = false;                 // no per-batch log lines (tests)
  StepHook on_step;                   // called after every step, after any step checkpoint (tests)
};

struct TrainOutcome {
  EvalStats test;                      // after the last epoch
  std::vector<double> epoch_accuracy;  // test accuracy after each epoch run here
  std::vector<double> epoch_loss;      // mean training loss of each epoch finished here
  int64_t epochs = 0;                  // total epochs the model has now been trained
  double train_seconds = 0.0;          // training only (no evaluation), this run
  double images_per_second = 0.0;
  DataParallelTraffic data_parallel;  // under mpirun: the all-reduces' time, bytes and calls (EpochStats)
  std::string checkpoint;
};

TrainOutcome run_train_job(const TrainJob& job);

/// Where train_float starts, and how it saves.
struct FloatTraining {
  TrainingProgress start;       // default: epoch 1, nothing done
  std::string checkpoint_path;  // written after every epoch (and every `checkpoint_every` steps)
  int64_t checkpoint_every = 0;
  std::string resumed_from;  // the checkpoint `start` came from, "" if none (named if training diverges)
  bool quiet = false;
  StepHook on_step;
};

/// Trains `model` from `how.start` through `config.train.epochs`, evaluating on `test` and saving a "float"
/// training checkpoint after every epoch and every `how.checkpoint_every` steps. If training diverges, the
/// TrainingDiverged message also names the last good checkpoint. Shared by `train` and by `train_qat` when
/// it has to train the float model first.
TrainOutcome train_float(const config::ModelConfig& config, nn::Graph& model, nn::Optimizer& optimizer,
                         const data::MnistDataset& train_set, const data::MnistDataset& test,
                         const FloatTraining& how);

/// The float DataLoader of a config: shuffled by train.seed, one batch prefetched, the last batch dropped
/// when it would starve a BatchNorm layer (app/training_batches.h).
data::DataLoader float_loader(const config::ModelConfig& config, const data::MnistDataset& train_set);

}  // namespace qg::app
