// Data-parallel training (as Horovod and PyTorch's DistributedDataParallel do it): the named steps that
// train_epoch (app/training.h) adds when the job runs as N > 1 processes (app/distributed.h).
//
// Every process holds the same model and reads the same seeded shuffle. For every global batch of B
// images (the config's train.batch_size):
//   1. shard:     rank r trains on the r-th contiguous slice of the batch, n_r images (data::BatchShard);
//   2. forward and backward on the shard: loss_r (the mean over the shard) and its gradient g_r;
//   3. all-reduce the loss and the gradients: the global batch's mean loss sum_r n_r loss_r / B and its
//      gradient g = sum_r (n_r / B) g_r, exactly what one process computes for the whole batch (up to the
//      order of the float additions). Weighting by n_r keeps a last, partial batch cut into unequal shards
//      right. The sum runs in rank order (Communicator::all_reduce_sum), so every rank gets the same bits;
//   4. every rank takes the same optimizer step with the same gradient: the replicas stay identical;
//   5. sync BatchNorm statistics: each rank's running mean and variance, updated from its own shard, are
//      replaced by their average weighted by n_r / B. Not SyncBatchNorm: the batch statistics that
//      normalise the forward pass are the shard's, so a model with BatchNorm trains (slightly) differently
//      from one process, as under DDP without SyncBatchNorm. A model without BatchNorm trains the same.
// In QAT the observers also reduce their batch statistics over the ranks inside the forward pass
// (quant/statistics_sync.h), so every rank freezes the same quantization parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "app/distributed.h"
#include "config/model_config.h"
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

/// Step 3a: the global batch's mean loss and size from each rank's mean loss over its `shard_images` (an
/// all-reduce of 2 doubles: kLossBytes).
constexpr int64_t kLossBytes = 2 * sizeof(double);
GlobalBatch all_reduce_loss(const distributed::Communicator& comm, float shard_mean_loss,
                            int64_t shard_images);

/// Step 3b: replaces the gradient of every parameter (of the shard's mean loss) by the gradient of the global
/// batch's mean loss, sum_r (n_r / B) g_r. Parameters without a gradient keep none (they have none on every
/// rank: the ranks run the same code). Returns the bytes all-reduced (4 per gradient value).
int64_t all_reduce_gradients(nn::Module& model, const distributed::Communicator& comm, int64_t shard_images,
                             int64_t global_images);

/// Step 5: every BatchNorm running_mean and running_var becomes sum_r n_r x_r / B, added in double in rank
/// order (equal values on every rank stay exactly as they are, e.g. while BatchNorm is frozen). Returns the
/// bytes all-reduced (8 per value).
int64_t sync_batch_norm_statistics(nn::Module& model, const distributed::Communicator& comm,
                                   int64_t shard_images, int64_t global_images);

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

/// The data-parallel steps of one train_epoch call, timed. With one process each step does nothing and the
/// shard is the global batch, so the training loop reads the same either way:
///
///   DataParallel parallel(distributed::world());
///   for (const data::Batch& batch : the batches of parallel.shard()) {
///     ... forward, loss, backward on the shard ...
///     const GlobalBatch global = parallel.all_reduce_loss_and_gradients(model, loss, batch.size());
///     optimizer.step();
///     parallel.sync_batch_norm_statistics(model, batch.size(), global.images);
///   }
///
/// While it lives, the observers of this process reduce their statistics over the ranks (N > 1).
class DataParallel {
 public:
  explicit DataParallel(const distributed::Communicator& comm);
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /// Step 1.
  data::BatchShard shard() const { return batch_shard(comm_); }
  /// Steps 3a and 3b: all_reduce_loss, then all_reduce_gradients.
  GlobalBatch all_reduce_loss_and_gradients(nn::Module& model, float shard_mean_loss, int64_t shard_images);
  /// Step 5.
  void sync_batch_norm_statistics(nn::Module& model, int64_t shard_images, int64_t global_images);

  /// Seconds spent in the steps above so far, and the bytes the last step all-reduced (0 for one process).
  double allreduce_seconds() const { return seconds_; }
  int64_t allreduce_bytes_per_step() const { return loss_and_gradient_bytes_ + statistics_bytes_; }

 private:
  const distributed::Communicator comm_;
  const CommunicatorStatisticsSync observer_sync_;
  std::optional<quant::ScopedStatisticsSync> observers_synced_;  // while this object lives (N > 1)
  double seconds_ = 0.0;
  int64_t loss_and_gradient_bytes_ = 0;
  int64_t statistics_bytes_ = 0;
};

/// Checks before any training that `config`'s batches of `train_images` images can be sharded over the
/// ranks of `comm`: every shard must hold at least one image (else a rank would have nothing to run the
/// step's collectives with) and must not starve a BatchNorm layer (app/training_batches.h). Throws
/// std::runtime_error naming the batch, the number of ranks and the fix. Nothing to check for one process.
void check_shards(const config::ModelConfig& config, int64_t train_images, bool drop_last,
                  const distributed::Communicator& comm);

}  // namespace qg::app
