#include "app/data_parallel.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/training_batches.h"
#include "config/layer_kind.h"

namespace qg::app {

namespace {

bool is_batch_norm_statistic(const std::string& name) {
  const auto ends_with = [&](const std::string& suffix) {
    return name == suffix || name.ends_with("." + suffix);
  };
  return ends_with("running_mean") || ends_with("running_var");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string images(int64_t n) {
  return std::to_string(n) + (n == 1 ? " image" : " images");
}

}  // namespace

data::BatchShard batch_shard(const distributed::Communicator& comm) {
  return {.index = comm.rank(), .count = comm.size()};
}

GlobalBatch all_reduce_loss(const distributed::Communicator& comm, float shard_mean_loss,
                            int64_t shard_images) {
  std::vector<double> sums{static_cast<double>(shard_mean_loss) * static_cast<double>(shard_images),
                           static_cast<double>(shard_images)};
  comm.all_reduce_sum(sums);
  const auto global_images = static_cast<int64_t>(sums[1]);
  return {static_cast<float>(sums[0] / sums[1]), global_images};
}

int64_t all_reduce_gradients(nn::Module& model, const distributed::Communicator& comm, int64_t shard_images,
                             int64_t global_images) {
  // One flat buffer: every gradient, in the model's parameter order (the same on every rank).
  std::vector<Tensor> parameters;
  for (const auto& [name, p] : model.named_parameters()) {
    if (p.grad().defined()) parameters.push_back(p);
  }
  std::vector<float> flat;
  for (const Tensor& p : parameters) {
    const Tensor g = p.grad().contiguous();
    flat.insert(flat.end(), g.data(), g.data() + g.numel());
  }
  // g_r is the gradient of the shard's mean, (1 / n_r) sum over its images; the global batch's mean has
  // (1 / B) sum over all images = sum_r (n_r / B) g_r.
  const auto weight =
      static_cast<float>(static_cast<double>(shard_images) / static_cast<double>(global_images));
  for (float& v : flat)
    v *= weight;
  comm.all_reduce_sum(flat);
  size_t at = 0;
  for (Tensor& p : parameters) {
    const int64_t n = p.numel();
    p.set_grad(Tensor::from_vector(std::vector<float>(flat.begin() + static_cast<std::ptrdiff_t>(at),
                                                      flat.begin() + static_cast<std::ptrdiff_t>(at + n)),
                                   p.shape()));
    at += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(flat.size() * sizeof(float));
}

int64_t sync_batch_norm_statistics(nn::Module& model, const distributed::Communicator& comm,
                                   int64_t shard_images, int64_t global_images) {
  std::vector<Tensor> statistics;
  for (const auto& [name, buffer] : model.named_buffers()) {
    if (is_batch_norm_statistic(name)) statistics.push_back(buffer);
  }
  if (statistics.empty()) return 0;
  // n_r x_r is exact in double (a float times an integer below 2^29), and so is the sum of equal values.
  std::vector<double> flat;
  for (const Tensor& s : statistics) {
    const Tensor c = s.contiguous();
    for (int64_t i = 0; i < c.numel(); ++i)
      flat.push_back(static_cast<double>(c.data()[i]) * static_cast<double>(shard_images));
  }
  comm.all_reduce_sum(flat);
  size_t at = 0;
  for (Tensor& s : statistics) {
    assert(s.is_contiguous() && "BatchNorm buffers are contiguous tensors of their own");
    for (int64_t i = 0; i < s.numel(); ++i)
      s.data()[i] = static_cast<float>(flat[at++] / static_cast<double>(global_images));
  }
  return static_cast<int64_t>(flat.size() * sizeof(double));
}

DataParallel::DataParallel(const distributed::Communicator& comm) : comm_(comm), observer_sync_(comm) {
  if (comm_.size() > 1) observers_synced_.emplace(&observer_sync_);
}

GlobalBatch DataParallel::all_reduce_loss_and_gradients(nn::Module& model, float shard_mean_loss,
                                                        int64_t shard_images) {
  if (comm_.size() == 1) return {shard_mean_loss, shard_images};
  const auto begin = std::chrono::steady_clock::now();
  const GlobalBatch global = all_reduce_loss(comm_, shard_mean_loss, shard_images);
  loss_and_gradient_bytes_ = kLossBytes + all_reduce_gradients(model, comm_, shard_images, global.images);
  seconds_ += seconds_since(begin);
  return global;
}

void DataParallel::sync_batch_norm_statistics(nn::Module& model, int64_t shard_images,
                                              int64_t global_images) {
  if (comm_.size() == 1) return;
  const auto begin = std::chrono::steady_clock::now();
  statistics_bytes_ = app::sync_batch_norm_statistics(model, comm_, shard_images, global_images);
  seconds_ += seconds_since(begin);
}

void check_shards(const config::ModelConfig& config, int64_t train_images, bool drop_last,
                  const distributed::Communicator& comm) {
  const int64_t ranks = comm.size();
  if (ranks == 1) return;
  const int64_t batch = std::min(config.train.batch_size, train_images);
  const int64_t last = drop_last ? 0 : train_images % config.train.batch_size;
  for (const int64_t global : {batch, last}) {
    if (global == 0) continue;
    const int64_t smallest = global / ranks;  // the smallest slice of BatchShard::slice
    if (smallest == 0) {
      throw std::runtime_error(config.source + ": a training batch of " + images(global) +
                               " cannot give each of the " + std::to_string(ranks) +
                               " processes an image; use fewer processes (mpirun -np), a larger batch, or "
                               "a --train-limit that leaves a last batch of at least " +
                               std::to_string(ranks) + " images");
    }
    if (const std::optional<size_t> i = batch_norm_starved_by(config, smallest)) {
      throw std::runtime_error(config.source + ": /layers/" + std::to_string(*i) + " (" +
                               config.layers[*i].kind->name + "): a training batch of " + images(global) +
                               " over " + std::to_string(ranks) + " processes leaves shards of " +
                               images(smallest) +
                               ", which give it one value per channel (no batch variance); use fewer "
                               "processes or a larger batch");
    }
  }
}

}  // namespace qg::app
