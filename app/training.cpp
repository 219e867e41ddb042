#include "app/training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "app/data_parallel.h"
#include "app/distributed.h"
#include "app/progress.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/batch_reduction.h"
#include "core/kernels/reduce.h"
#include "core/kernels/value_range.h"
#include "nn/functional/loss.h"
#include "quant/observer.h"
#include "quant/qat/qat_layer.h"

namespace qg::app {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The first NaN or Inf in `t`, if any.
std::optional<float> first_non_finite(const Tensor& t) {
  const std::optional<int64_t> at = kernel::first_non_finite(t);
  if (!at) return std::nullopt;
  return t.contiguous().data()[*at];
}

std::string non_finite_name(float value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "+Inf" : "-Inf";
}

// "layer 3 (Conv2d(...))". A QAT layer goes by the number of the config layer it was made from, not by its
// place in the QAT model (where a fused BatchNorm or ReLU has no place of its own).
std::string layer_text(const std::string& name, const nn::Module& layer) {
  const auto* qat = dynamic_cast<const quant::QatLayer*>(&layer);
  return "layer " + (qat ? std::to_string(qat->source_layer()) : name) + " (" + layer.describe() + ")";
}

// "step 12 (epoch 1, batch 11)": the step about to be taken, with its place in the epoch.
std::string step_text(const TrainingProgress& p) {
  return "step " + std::to_string(p.step + 1) + " (epoch " + std::to_string(p.epoch) + ", batch " +
         std::to_string(p.batches_done) + ")";
}

TrainingDiverged diverged(const TrainingProgress& p, const std::string& what) {
  return TrainingDiverged("training diverged at " + step_text(p) + ": " + what +
                          "; try a lower learning rate");
}

// Forward and loss of one batch, refusing a non-finite loss. A QAT observer refuses a non-finite tensor
// before the loss is even computed, and scales that grew beyond the fixed-point range stop the fake
// requantization; that is the same divergence, reported the same way.
// With `global_images`, the loss is this shard's part of the mean over a global batch of that many images,
// sum / global_images: every image's gradient is then the same whichever shard it is in (split-invariant
// data parallelism, app/data_parallel.h).
Tensor checked_loss(nn::Module& model, const data::Batch& batch, const TrainingProgress& p,
                    std::optional<int64_t> global_images) {
  Tensor loss;
  try {
    const Tensor logits = model(batch.images);
    loss = global_images
               ? nn::functional::cross_entropy(logits, batch.labels, nn::functional::Reduction::Sum) *
                     (1.0f / static_cast<float>(*global_images))
               : nn::functional::cross_entropy(logits, batch.labels);
  } catch (const quant::NonFiniteObservation&) {
    throw diverged(p, "a quantization observer saw a non-finite value; first non-finite value: " +
                          locate_non_finite_output(model, batch.images));
  } catch (const quant::QuantizationDiverged& e) {
    throw diverged(p, std::string(e.what()) + "; where: " + locate_non_finite_output(model, batch.images));
  }
  const float value = loss.item();
  if (!std::isfinite(value)) {
    throw diverged(p, "the loss is " + non_finite_name(value) +
                          "; first non-finite value: " + locate_non_finite_output(model, batch.images));
  }
  return loss;
}

// The batches of epoch `p.epoch` that are left: the loader's order for that epoch without the first
// p.batches_done batches; of each, this process's shard (all of it unless the run is data-parallel).
data::Epoch remaining_batches(const data::DataLoader& loader, const TrainingProgress& p,
                              const data::BatchShard& shard) {
  const data::DataLoaderOptions& o = loader.options();
  std::vector<int64_t> order = loader.order(p.epoch - 1);
  const auto skip = static_cast<size_t>(std::min<int64_t>(p.batches_done * o.batch_size, std::ssize(order)));
  order.erase(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(skip));
  return data::Epoch(loader.dataset(), std::move(order), o.batch_size, o.drop_last, o.prefetch, shard);
}

int64_t json_int(const nlohmann::json& json, const char* key) {
  if (!json.is_object() || !json.contains(key) || !json[key].is_number_integer() ||
      json[key].get<int64_t>() < 0) {
    throw std::invalid_argument(std::string("training progress: \"") + key +
                                "\" must be a non-negative integer");
  }
  return json[key].get<int64_t>();
}

}  // namespace

nlohmann::json progress_to_json(const TrainingProgress& p) {
  return {{"epoch", p.epoch},
          {"batches_done", p.batches_done},
          {"step", p.step},
          {"loss_sum", p.loss_sum},
          {"images", p.images}};
}

TrainingProgress progress_from_json(const nlohmann::json& json) {
  TrainingProgress p;
  p.epoch = json_int(json, "epoch");
  p.batches_done = json_int(json, "batches_done");
  p.step = json_int(json, "step");
  p.images = json_int(json, "images");
  if (p.epoch < 1) throw std::invalid_argument("training progress: \"epoch\" must be at least 1");
  if (!json.contains("loss_sum") || !json["loss_sum"].is_number() ||
      !std::isfinite(json["loss_sum"].get<double>())) {
    throw std::invalid_argument("training progress: \"loss_sum\" must be a finite number");
  }
  p.loss_sum = json["loss_sum"].get<double>();
  return p;
}

std::string locate_non_finite_output(nn::Module& model, const Tensor& input) {
  NoGradGuard no_grad;
  // Only this process runs it (its shard went wrong): its observers and batch norms must not wait for the
  // other ranks.
  const quant::ScopedStatisticsSync local_only(nullptr);
  const batch_reduction::ScopedCrossProcessSum batch_sums_local_only(nullptr);
  if (first_non_finite(input)) return "the input batch";
  Tensor x = input;
  for (const auto& [name, layer] : model.children()) {
    try {
      x = layer->forward(x);
    } catch (const quant::NonFiniteObservation&) {
      return "inside " + layer_text(name, *layer) + " (its quantization observer)";
    } catch (const quant::QuantizationDiverged&) {
      return "inside " + layer_text(name, *layer) + " (its requantization)";
    }
    if (const auto bad = first_non_finite(x))
      return non_finite_name(*bad) + " in the output of " + layer_text(name, *layer);
  }
  return "none in the layers' outputs: the loss itself";
}

std::string locate_non_finite_gradient(const nn::Module& model) {
  const nn::NamedTensors parameters = model.named_parameters();
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {  // backward: nearest the loss first
    const Tensor grad = it->second.grad();
    if (!grad.defined()) continue;
    const auto bad = first_non_finite(grad);
    if (!bad) continue;
    const std::string layer_name = it->first.substr(0, it->first.find('.'));
    std::string where = "parameter " + it->first;
    for (const auto& [name, layer] : model.children()) {
      if (name == layer_name) where = layer_text(name, *layer);
    }
    return where + ": " + non_finite_name(*bad) + " in the gradient of " + it->first;
  }
  return "";
}

EpochStats train_epoch(nn::Module& model, nn::Optimizer& optimizer, const data::DataLoader& loader,
                       TrainingProgress& progress, const TrainLogOptions& log, const StepHook& after_step,
                       const BeforeStepHook& before_step) {
  model.train();
  const int64_t total = loader.dataset().size();
  const int64_t batch_size = loader.options().batch_size;
  ProgressBar bar(log.title, total);
  // mpirun gives every rank a pseudo-terminal, even when its own output goes to a file: no bar then.
  if (!log.progress_bar || log.quiet || distributed::started_by_mpirun()) bar.finish();
  EpochStats stats;
  // Data parallel when the job runs under mpirun (app/data_parallel.h): this process trains on its shard of
  // every batch, and the ranks agree on the loss, the gradients and the BatchNorm statistics. In a plain run
  // the shard is the whole batch and the data-parallel steps below do nothing.
  DataParallel parallel(distributed::world());
  const auto start = std::chrono::steady_clock::now();
  for (const data::Batch& batch : remaining_batches(loader, progress, parallel.shard())) {
    if (before_step) before_step(progress);
    optimizer.zero_grad();
    const std::optional<int64_t> global_images = parallel.global_images(batch.size());
    const Tensor loss = checked_loss(model, batch, progress, global_images);
    loss.backward();
    const GlobalBatch global = parallel.finish_backward(model, loss.item(), batch.size());
    const float value = global.mean_loss;
    const int64_t images = global.images;
    if (const std::string where = locate_non_finite_gradient(model); !where.empty()) {
      throw diverged(progress, "the backward pass first produced a non-finite gradient in " + where);
    }
    optimizer.step();
    if (!log.quiet && progress.batches_done % log.log_interval == 0) {
      bar.clear();
      std::printf(
          "%s: %lld [%lld/%lld]  Loss: %.6f\n", log.title.c_str(), static_cast<long long>(progress.epoch),
          static_cast<long long>(progress.batches_done * batch_size), static_cast<long long>(total), value);
      std::fflush(stdout);
    }
    progress.loss_sum += static_cast<double>(value) * images;
    progress.images += images;
    ++progress.batches_done;
    ++progress.step;
    stats.images += images;
    bar.update(std::min(total, progress.batches_done * batch_size));
    if (after_step) after_step(progress, value, model);
  }
  bar.finish();
  stats.seconds = seconds_since(start);
  stats.data_parallel = {parallel.allreduce_seconds(), parallel.allreduce_bytes_per_step(),
                         parallel.allreduce_calls_per_step()};
  stats.mean_loss = progress.images > 0 ? progress.loss_sum / progress.images : 0.0;
  return stats;
}

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const std::vector<float> best = kernel::argmax(logits, 1).to_vector();
  return std::vector<int64_t>(best.begin(), best.end());
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
    for (size_t i = 0; i < predicted.size(); ++i)
      stats.correct += predicted[i] == batch.labels[i];
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
