// Data-parallel training (as Horovod and PyTorch's DistributedDataParallel do it): what train_epoch
// (app/training.h) adds when the job runs under mpirun (app/distributed.h).
//
// Every process holds the same model and reads the same seeded shuffle. For every global batch of B
// images (the config's train.batch_size):
//   1. shard:   rank r trains on the r-th contiguous slice of the batch, n_r images (data::BatchShard);
//   2. forward: the loss is this shard's part of the global mean, sum / B (the global B from an all-reduce
//      of the shard sizes), so that every image's gradient is what one process gives it;
//   3. every sum over the batch is split-invariant and taken over the processes where it is formed
//      (core/batch_reduction.h): the weight gradients of conv, linear, batch norm and learned step sizes,
//      the batch-norm statistics (SyncBatchNorm) and the loss. So every rank ends the backward pass with the
//      global batch's gradient, bit for bit the same on every rank and the same whatever N is (N a power of
//      two); check_same_gradients verifies it;
//   4. every rank takes the same optimizer step with the same gradient: the replicas stay identical without
//      ever being broadcast, and so do the batch-norm running statistics (updated from the same global
//      statistics).
// In QAT the observers also reduce their batch statistics over the ranks inside the forward pass
// (quant/statistics_sync.h: min, max and LSQ's first mean |x|), so every rank freezes the same
// quantization parameters, and the integer model is the same whatever N is.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include <nlohmann/json.hpp>

#include "app/distributed.h"
#include "app/training.h"
#include "config/model_config.h"
#include "core/batch_reduction.h"
#include "datasets/data_loader.h"
#include "nn/module.h"
#include "quant/statistics_sync.h"

namespace qg::app {

/// Step 1: this rank's shard of every global batch.
data::BatchShard batch_shard(const distributed::Communicator& comm);

/// The global batch of one step, from every rank's shard.
struct GlobalBatch {
  float mean_loss = 0.0f;  // over the global batch's images
  int64_t images = 0;      // in the global batch
};

/// The observers' reductions (quant/statistics_sync.h) over `comm`.
class CommunicatorStatisticsSync : public quant::StatisticsSync {
 public:
  explicit CommunicatorStatisticsSync(const distributed::Communicator& comm) : comm_(comm) {}
  void min(std::span<float> values) const override { comm_.all_reduce_min(values); }
  void max(std::span<float> values) const override { comm_.all_reduce_max(values); }
  void sum(std::span<double> values) const override { comm_.all_reduce_sum(values); }

 private:
  distributed::Communicator comm_;
};

/// The batch sums of the kernels (core/batch_reduction.h) over `comm`.
/// Counts what it moves and how long it takes, for the report (collectives, bytes and seconds since the
/// last take()).
class CommunicatorCrossProcessSum : public batch_reduction::CrossProcessSum {
 public:
  explicit CommunicatorCrossProcessSum(const distributed::Communicator& comm) : comm_(comm) {}
  void sum(std::span<float> values) const override;
  void sum(std::span<double> values) const override;

  struct Traffic {
    int64_t collectives = 0, bytes = 0;
    double seconds = 0.0;
  };
  Traffic take() const { return std::exchange(traffic_, {}); }

 private:
  template <class T>
  void timed_sum(std::span<T> values) const;

  distributed::Communicator comm_;
  mutable Traffic traffic_;
};

/// Split-invariant steps: whether every rank holds the same gradient bits (they must: every batch sum was
/// taken over the ranks). Throws std::logic_error naming the first parameter that differs; an all-reduce
/// of a few floats per parameter.
void check_same_gradients(nn::Module& model, const distributed::Communicator& comm);

/// The data-parallel steps of one train_epoch call, timed. With one process (a plain run) each step does
/// nothing and the shard is the global batch, so the training loop reads the same either way:
///
///   DataParallel parallel(distributed::world());
///   for (const data::Batch& batch : the batches of parallel.shard()) {
///     const std::optional<int64_t> global_images = parallel.global_images(batch.size());
///     ... forward, the loss (the sum over the shard / *global_images under mpirun), backward ...
///     const GlobalBatch global = parallel.finish_backward(model, loss, batch.size());
///     optimizer.step();
///   }
///
/// While it lives, under mpirun, the kernels' batch sums are split-invariant and taken over the ranks, and
/// the observers of this process reduce their statistics over the ranks.
class DataParallel {
 public:
  explicit DataParallel(const distributed::Communicator& comm);
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /// Step 1.
  data::BatchShard shard() const { return batch_shard(comm_); }
  /// Whether sums over the batch are split-invariant: in every run started by mpirun, whatever N (also
  /// N = 1, so that its bytes are those of N = 2 and 4).
  bool split_invariant() const { return invariant_.has_value(); }
  /// Step 2: the global batch's size (an all-reduce of the shards' sizes) when split-invariant; nothing in a
  /// plain run (which takes the mean over its batch as always).
  std::optional<int64_t> global_images(int64_t shard_images);
  /// After the backward pass: the global batch's mean loss (the loss is the global one already when
  /// split-invariant) and size; with N > 1, checks that every rank has the same gradients.
  GlobalBatch finish_backward(nn::Module& model, float loss, int64_t shard_images);

  /// Seconds spent in the collectives of the steps so far, and the bytes and the all-reduce calls of the
  /// last step (0 for one process).
  double allreduce_seconds() const { return seconds_; }
  int64_t allreduce_bytes_per_step() const { return bytes_per_step_; }
  int64_t allreduce_calls_per_step() const { return calls_per_step_; }

 private:
  const distributed::Communicator comm_;
  const CommunicatorStatisticsSync observer_sync_;
  std::optional<quant::ScopedStatisticsSync> observers_synced_;  // while this object lives (N > 1)
  const CommunicatorCrossProcessSum batch_sums_;
  std::optional<batch_reduction::ScopedSplitInvariant> invariant_;      // under mpirun
  std::optional<batch_reduction::ScopedCrossProcessSum> batch_summed_;  // under mpirun, N > 1
  double seconds_ = 0.0;
  int64_t bytes_per_step_ = 0;
  int64_t calls_per_step_ = 0;
  int64_t last_global_images_ = 0;  // from global_images()
};

/// The report's "data_parallel" section of a run under mpirun: ranks, split_invariant (true: the batch sums
/// of core/batch_reduction.h were used, so the run's bytes are those of any other power-of-two N), and the
/// all-reduces' seconds (rank 0's, waits for the other ranks included), bytes and calls per step.
nlohmann::json data_parallel_report(const DataParallelTraffic& traffic);

/// Checks before any training that `config`'s batches of `train_images` images can be sharded over the
/// ranks of `comm`: every shard must hold at least one image (else a rank would have nothing to run the
/// step's collectives with) and must not starve a BatchNorm layer (app/training_batches.h). Throws
/// std::runtime_error naming the batch, the number of ranks and the fix. Nothing to check for one process.
void check_shards(const config::ModelConfig& config, int64_t train_images, bool drop_last,
                  const distributed::Communicator& comm);

}  // namespace qg::app
