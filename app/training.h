// The training and evaluation loops every tool shares (the tutorial's train() and test()), and what a
// checkpoint must record so that a stopped run continues exactly where it stopped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/data_loader.h"
#include "nn/module.h"
#include "nn/optim/optimizer.h"

namespace qg::app {

/// Where a training run stands. Saved in every training checkpoint: together with the model, the
/// optimizer and the DataLoader's (seed, epoch) shuffle order it is all a resumed run needs to take exactly
/// the steps the uninterrupted run would have taken.
struct TrainingProgress {
  int64_t epoch = 1;         // the epoch in progress, 1-based
  int64_t batches_done = 0;  // batches of `epoch` already trained
  int64_t step = 0;          // optimizer steps since the run began, across resumes
  double loss_sum = 0.0;     // this epoch so far: sum over images of the loss (for the epoch's mean loss)
  int64_t images = 0;        // this epoch so far

  /// The start of the next epoch.
  TrainingProgress next_epoch() const { return {epoch + 1, 0, step, 0.0, 0}; }
};

/// {"epoch", "batches_done", "step", "loss_sum", "images"}; doubles round-trip exactly through JSON.
nlohmann::json progress_to_json(const TrainingProgress& progress);
/// The inverse; throws std::invalid_argument naming the missing or malformed field.
TrainingProgress progress_from_json(const nlohmann::json& json);

/// Called after every optimizer step with the progress including that step, the step's loss and the model
/// being trained: the jobs save step checkpoints here; tests record losses, stop a run, or inject a fault.
using StepHook = std::function<void(const TrainingProgress& progress, float loss, nn::Module& model)>;
/// Called before every optimizer step's forward pass with the progress so far (progress.step is the step
/// about to be taken): QAT sets the step's learning rate here.
using BeforeStepHook = std::function<void(const TrainingProgress& progress)>;

/// Thrown when the loss or a gradient stops being finite. what() names the step (and its epoch and batch)
/// and the first layer where the non-finite value appeared.
struct TrainingDiverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainLogOptions {
  std::string title = "Train Epoch";  // "Quantize Aware Training Epoch" for QAT
  int64_t log_interval = 50;          // batches between log lines, as the tutorial
  bool progress_bar = true;           // shown only when stdout is a terminal
  bool quiet = false;                 // no log lines at all (tests)
};

/// Data parallel only (app/data_parallel.h): time in the all-reduces of the batch sums (the gradients, the
/// loss and the BatchNorm statistics; including the wait for the slowest rank; not the QAT observers'
/// small ones), and the bytes and the all-reduce calls of one step.
struct DataParallelTraffic {
  double allreduce_seconds = 0.0;
  int64_t allreduce_bytes_per_step = 0;
  int64_t allreduce_calls_per_step = 0;
  /// Adds an epoch's: its seconds, and its last step's bytes and calls.
  void add(const DataParallelTraffic& epoch) {
    allreduce_seconds += epoch.allreduce_seconds;
    allreduce_bytes_per_step = epoch.allreduce_bytes_per_step;
    allreduce_calls_per_step = epoch.allreduce_calls_per_step;
  }
};

struct EpochStats {
  double mean_loss = 0.0;  // over the whole epoch, including batches trained before a resume
  int64_t images = 0;      // trained by this call
  double seconds = 0.0;    // spent in this call
  DataParallelTraffic data_parallel;
  double images_per_second() const { return seconds > 0 ? images / seconds : 0.0; }
};

/// Trains the rest of epoch `progress.epoch` with SGD on cross-entropy: model.train(), then for each batch
/// after the first `progress.batches_done` forward, loss, backward, step, and `after_step`. The batches come
/// in the loader's order for that epoch (epoch - 1), so skipping the done ones lands on the same batch an
/// uninterrupted run would train next. Advances `progress` step by step.
/// Logs "Train Epoch: 1 [3200/60000]  Loss: 0.087867" every log_interval batches.
/// Before the step that would spoil the weights, throws TrainingDiverged when the loss or any parameter's
/// gradient is NaN or infinite: for the loss it names the first layer whose output is not finite (the model's
/// forward must run its children in order, as Sequential and QatModel do); for a gradient, the layer nearest
/// the loss with a non-finite gradient, i.e. the first one the backward pass spoiled.
EpochStats train_epoch(nn::Module& model, nn::Optimizer& optimizer, const data::DataLoader& loader,
                       TrainingProgress& progress, const TrainLogOptions& log = {},
                       const StepHook& after_step = {}, const BeforeStepHook& before_step = {});

/// Which part of `model` first produces a non-finite value for `input`: "the input batch", or e.g.
/// "the output of layer 3 (Conv2d(...))". Runs the children one by one without recording a graph (layers
/// in training mode may update their running statistics: call it only when the run is stopping anyway).
std::string locate_non_finite_output(nn::Module& model, const Tensor& input);

/// The parameter nearest the loss (last in forward order) whose gradient holds NaN or Inf, described as
/// "layer 3 (Linear(1000, 10)): NaN in the gradient of 3.weight"; "" if every gradient is finite.
std::string locate_non_finite_gradient(const nn::Module& model);

struct EvalStats {
  double loss = 0.0;      // mean cross-entropy per image
  double accuracy = 0.0;  // fraction in [0, 1]
  int64_t correct = 0, total = 0;
  std::vector<int64_t> predictions;  // argmax per test image, ties to the lowest class
  double seconds = 0.0;
};

/// Evaluates without recording a graph, in eval mode (restoring the previous mode afterwards).
EvalStats evaluate(nn::Module& model, const data::MnistDataset& dataset, int64_t batch_size);

/// The tutorial's summary line: "Test set: Average loss: 0.0453, Accuracy: 98.61%".
std::string format_test_line(const EvalStats& stats, const std::string& what = "");

/// Argmax of each row of [N, C] logits, ties to the lowest index and a NaN the largest (kernel::argmax).
std::vector<int64_t> argmax_rows(const Tensor& logits);

}  // namespace qg::app
