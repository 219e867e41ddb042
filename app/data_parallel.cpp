#include "app/data_parallel.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/training_batches.h"
#include "config/layer_kind.h"

namespace qg::app {

namespace {

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

DataParallel::DataParallel(const distributed::Communicator& comm)
    : comm_(comm), observer_sync_(comm), batch_sums_(comm) {
  if (comm_.size() > 1) observers_synced_.emplace(&observer_sync_);
  if (distributed::started_by_mpirun()) {
    invariant_.emplace(true);
    if (comm_.size() > 1) batch_summed_.emplace(&batch_sums_);
  }
}

template <class T>
void CommunicatorCrossProcessSum::timed_sum(std::span<T> values) const {
  const auto begin = std::chrono::steady_clock::now();
  comm_.all_reduce_sum(values);
  traffic_.seconds += seconds_since(begin);
  traffic_.bytes += static_cast<int64_t>(values.size_bytes());
  ++traffic_.collectives;
}

void CommunicatorCrossProcessSum::sum(std::span<float> values) const {
  timed_sum(values);
}
void CommunicatorCrossProcessSum::sum(std::span<double> values) const {
  timed_sum(values);
}

void check_same_gradients(nn::Module& model, const distributed::Communicator& comm) {
  // Per parameter, an FNV-1a hash of the gradient's bytes in three 21-bit pieces (exact as floats): the
  // minimum and the maximum over the ranks are equal exactly when every rank has the same hash.
  std::vector<std::string> names;
  std::vector<float> pieces;
  for (const auto& [name, p] : model.named_parameters()) {
    if (!p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    uint64_t hash = 14695981039346656037ull;
    const auto* bytes = reinterpret_cast<const unsigned char*>(g.data());
    for (size_t i = 0; i < static_cast<size_t>(g.numel()) * sizeof(float); ++i)
      hash = (hash ^ bytes[i]) * 1099511628211ull;
    names.push_back(name);
    for (int k = 0; k < 3; ++k)
      pieces.push_back(static_cast<float>((hash >> (21 * k)) & ((uint64_t{1} << 21) - 1)));
  }
  std::vector<float> low = pieces, high = pieces;
  comm.all_reduce_min(low);
  comm.all_reduce_max(high);
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (low[i] != high[i]) {
      throw std::logic_error(
          "data-parallel training: the ranks computed different gradients for " + names[i / 3] +
          " (a batch sum of its layer is not taken over the processes; please report this)");
    }
  }
}

std::optional<int64_t> DataParallel::global_images(int64_t shard_images) {
  if (!split_invariant()) return std::nullopt;
  std::vector<double> count{static_cast<double>(shard_images)};
  comm_.all_reduce_sum(count);  // exact: integers far below 2^53
  last_global_images_ = static_cast<int64_t>(count[0]);
  return last_global_images_;
}

GlobalBatch DataParallel::finish_backward(nn::Module& model, float loss, int64_t shard_images) {
  if (comm_.size() == 1) return {loss, shard_images};
  // The loss and the gradients are the global batch's already (the kernels summed over the ranks).
  check_same_gradients(model, comm_);
  // The step's collectives: the kernels' batch sums and the loss's, the global image count and this check's
  // hashes (two all-reduces of 3 floats per parameter, which a production run could leave out).
  const CommunicatorCrossProcessSum::Traffic traffic = batch_sums_.take();
  seconds_ += traffic.seconds;
  bytes_per_step_ = traffic.bytes + static_cast<int64_t>(sizeof(double));
  calls_per_step_ = traffic.collectives + 3;
  return {loss, last_global_images_};
}

nlohmann::json data_parallel_report(const DataParallelTraffic& traffic) {
  return {{"ranks", distributed::world().size()},
          {"split_invariant", true},
          {"allreduce_seconds", traffic.allreduce_seconds},
          {"allreduce_bytes_per_step", traffic.allreduce_bytes_per_step},
          {"allreduce_calls_per_step", traffic.allreduce_calls_per_step}};
}

void check_shards(const config::ModelConfig& config, int64_t train_images, bool drop_last,
                  const distributed::Communicator& comm) {
  const int64_t ranks = comm.size();
  if (ranks == 1) return;
  for (size_t i = 0; i < config.layers.size(); ++i) {
    if (config.layers[i].kind->name == "dropout" && comm.is_writer()) {
      std::fprintf(stderr,
                   "warning: %s: /layers/%zu (dropout) draws its masks on each process: the run is not the "
                   "same bytes for another number of processes (docs/distributed.md)\n",
                   config.source.c_str(), i);
      break;
    }
  }
  const int64_t batch = std::min(config.train.batch_size, train_images);
  const int64_t last = drop_last ? 0 : train_images % config.train.batch_size;
  for (const int64_t global : {batch, last}) {
    if (global == 0) continue;
    const int64_t smallest = global / ranks;  // the smallest slice of BatchShard::slice
    // "the training batch of 3 images (train.batch_size)" or "the last training batch (641 = 10 x 64 + 1) of
    // 1 image": the batch size may come from the config or from --batch-size.
    const std::string which = global == batch
                                  ? "the training batch of " + images(global) + " (train.batch_size)"
                                  : "the last training batch (" + std::to_string(train_images) + " = " +
                                        std::to_string(train_images / config.train.batch_size) + " x " +
                                        std::to_string(config.train.batch_size) + " + " +
                                        std::to_string(last) + ") of " + images(global);
    if (smallest == 0) {
      throw std::runtime_error(config.source + ": " + which + " cannot give each of the " +
                               std::to_string(ranks) +
                               " processes an image; use fewer processes (mpirun -np), a larger batch, or "
                               "a --train-limit that leaves a last batch of at least " +
                               std::to_string(ranks) + " images");
    }
    if (const std::optional<size_t> i = batch_norm_starved_by(config, smallest)) {
      throw std::runtime_error(config.source + ": /layers/" + std::to_string(*i) + " (" +
                               config.layers[*i].kind->name + "): " + which + " over " +
                               std::to_string(ranks) + " processes leaves shards of " + images(smallest) +
                               ", which give it one value per channel (no batch variance); use fewer "
                               "processes or a larger batch");
    }
  }
}

}  // namespace qg::app
