// The training and evaluation loops every tool shares (the tutorial's train() and test()).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "datasets/data_loader.h"
#include "nn/module.h"
#include "nn/optim/optimizer.h"

namespace qg::app {

struct TrainLogOptions {
  std::string title = "Train Epoch";  // "Quantize Aware Training Epoch" for QAT
  int64_t log_interval = 50;          // batches between log lines, as the tutorial
  bool progress_bar = true;           // shown only when stdout is a terminal
  bool quiet = false;                 // no log lines at all (tests)
};

struct EpochStats {
  double mean_loss = 0.0;
  int64_t images = 0;
  double seconds = 0.0;
  double images_per_second() const { return seconds > 0 ? images / seconds : 0.0; }
};

/// One epoch of SGD on cross-entropy: model.train(), then for each batch forward, loss, backward, step.
/// Logs "Train Epoch: 1 [3200/60000]  Loss: 0.087867" every log_interval batches. `epoch` is 1-based
/// for display and selects the loader's shuffle order (epoch - 1). Throws std::runtime_error naming the
/// step when the loss becomes NaN or infinite.
EpochStats train_epoch(nn::Module& model, nn::Optimizer& optimizer, const data::DataLoader& loader, int64_t epoch,
                       const TrainLogOptions& log = {});

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

/// Argmax of each row of [N, C] logits, ties to the lowest index (as torch.argmax).
std::vector<int64_t> argmax_rows(const Tensor& logits);

}  // namespace qg::app
