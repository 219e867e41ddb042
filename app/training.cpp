#include "app/training.h"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "app/progress.h"
#include "autograd/grad_mode.h"
#include "nn/functional/loss.h"

namespace qg::app {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

EpochStats train_epoch(nn::Module& model, nn::Optimizer& optimizer, const data::DataLoader& loader, int64_t epoch,
                       const TrainLogOptions& log) {
  model.train();
  const int64_t total = loader.dataset().size();
  ProgressBar bar(log.title, total);
  if (!log.progress_bar || log.quiet) bar.finish();
  EpochStats stats;
  double loss_sum = 0.0;
  int64_t batch_index = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const data::Batch& batch : loader.epoch(epoch - 1)) {
    optimizer.zero_grad();
    const Tensor loss = nn::functional::cross_entropy(model(batch.images), batch.labels);
    const float value = loss.item();
    if (!std::isfinite(value)) {
      throw std::runtime_error("training diverged: the loss is " + std::to_string(value) + " at epoch " +
                               std::to_string(epoch) + ", batch " + std::to_string(batch_index) +
                               " (try a lower learning rate)");
    }
    loss.backward();
    optimizer.step();
    loss_sum += static_cast<double>(value) * batch.size();
    if (!log.quiet && batch_index % log.log_interval == 0) {
      bar.clear();
      std::printf("%s: %lld [%lld/%lld]  Loss: %.6f\n", log.title.c_str(), static_cast<long long>(epoch),
                  static_cast<long long>(batch_index * loader.options().batch_size), static_cast<long long>(total),
                  value);
      std::fflush(stdout);
    }
    stats.images += batch.size();
    bar.update(stats.images);
    ++batch_index;
  }
  bar.finish();
  stats.seconds = seconds_since(start);
  stats.mean_loss = stats.images > 0 ? loss_sum / stats.images : 0.0;
  return stats;
}

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const Tensor c = logits.contiguous();
  const int64_t n = c.shape()[0], classes = c.shape()[1];
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = c.data() + i * classes;
    int64_t best = 0;
    for (int64_t k = 1; k < classes; ++k) {
      if (row[k] > row[best]) best = k;  // strict: ties keep the lowest index
    }
    out[i] = best;
  }
  return out;
}

EvalStats evaluate(nn::Module& model, const data::MnistDataset& dataset, int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  EvalStats stats;
  double loss_sum = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < dataset.size(); begin += batch_size) {
    const data::Batch batch = data::make_batch(dataset, begin, std::min(dataset.size(), begin + batch_size));
    const Tensor logits = model(batch.images);
    loss_sum += nn::functional::cross_entropy(logits, batch.labels, nn::functional::Reduction::Sum).item();
    const std::vector<int64_t> predicted = argmax_rows(logits);
    for (size_t i = 0; i < predicted.size(); ++i) stats.correct += predicted[i] == batch.labels[i];
    stats.predictions.insert(stats.predictions.end(), predicted.begin(), predicted.end());
  }
  stats.seconds = seconds_since(start);
  stats.total = dataset.size();
  stats.loss = stats.total ? loss_sum / stats.total : 0.0;
  stats.accuracy = stats.total ? static_cast<double>(stats.correct) / stats.total : 0.0;
  model.train(was_training);
  return stats;
}

std::string format_test_line(const EvalStats& stats, const std::string& what) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "Test set: %sAverage loss: %.4f, Accuracy: %.2f%%", what.c_str(), stats.loss,
                100.0 * stats.accuracy);
  return buf;
}

}  // namespace qg::app
