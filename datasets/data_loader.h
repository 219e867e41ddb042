// DataLoader: cuts a dataset into batches of normalised float tensors, optionally shuffled, optionally
// prepared one batch ahead on a worker thread.
//
//   DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 1});
//   for (int64_t e = 0; e < epochs; ++e) {
//     for (const Batch& batch : loader.epoch(e)) {
//       Tensor logits = model(batch.images);   // [64, 1, 28, 28]
//       ...                                    // batch.labels: 64 class indices
//     }
//   }
//
// Shuffling is a Fisher-Yates permutation drawn from a qg::Generator seeded by (seed, epoch) alone, so
// epoch e has the same order whether the run started at epoch 0 or was resumed at e, and every epoch has a
// different order. The dataset must outlive the loader and its epochs (they keep a reference).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "datasets/mnist.h"

namespace qg::data {

struct Batch {
  Tensor images;                // [B, 1, rows, cols], x = (pixel / 255 - mean) / std
  std::vector<int64_t> labels;  // B class indices
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

/// The images at `indices` (in that order) as one batch; throws std::out_of_range for a bad index.
Batch make_batch(const MnistDataset& dataset, std::span<const int64_t> indices);
/// The images [begin, end) as one batch: what an evaluation loop walks through.
Batch make_batch(const MnistDataset& dataset, int64_t begin, int64_t end);

/// Which part of every batch this process takes in data-parallel training (app/data_parallel.h): the batch
/// of n images is cut into `count` contiguous slices, slice r = [floor(r n / count), floor((r+1) n / count)),
/// and this process takes slice `index`. The default, {0, 1}, is the whole batch.
struct BatchShard {
  int64_t index = 0;  // this process's rank, in [0, count)
  int64_t count = 1;  // the number of processes
  /// [begin, end) of this shard within a batch of n images.
  std::pair<int64_t, int64_t> slice(int64_t n) const { return {index * n / count, (index + 1) * n / count}; }
};

/// One pass over the dataset in a given order, `batch_size` images at a time. With `prefetch`, a worker
/// thread builds batch i+1 while the caller works on batch i; an exception thrown while building a batch
/// is re-thrown by next() in the caller, after the batches that came before it. The destructor stops and
/// joins the worker.
class Epoch {
 public:
  /// With a `shard`, each batch is this process's slice of the batch of `batch_size` images (see BatchShard).
  Epoch(const MnistDataset& dataset, std::vector<int64_t> order, int64_t batch_size, bool drop_last,
        bool prefetch, BatchShard shard = {});
  Epoch(MnistDataset&&, std::vector<int64_t>, int64_t, bool, bool, BatchShard = {}) = delete;  // would dangle
  ~Epoch();
  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;

  /// Number of batches in this pass.
  int64_t size() const { return num_batches_; }
  /// The next batch, or nullopt after the last one.
  std::optional<Batch> next();

  /// Input iterator for range-for: each step calls next().
  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    explicit Iterator(Epoch& epoch) : epoch_(&epoch), current_(epoch.next()) {}
    const Batch& operator*() const { return *current_; }
    const Batch* operator->() const { return &*current_; }
    Iterator& operator++() {
      current_ = epoch_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !current_.has_value(); }

   private:
    Epoch* epoch_;
    std::optional<Batch> current_;
  };
  /// Starts handing out batches; an Epoch is a single pass, so call begin() once.
  Iterator begin() { return Iterator(*this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  Batch build(int64_t batch_index) const;
  void produce();  // the prefetch worker's loop

  const MnistDataset& dataset_;
  const std::vector<int64_t> order_;
  const int64_t batch_size_;
  const int64_t num_batches_;
  const BatchShard shard_;
  int64_t handed_out_ = 0;  // batches returned by next() so far

  // Prefetch state, shared with the worker under mutex_: a one-batch slot.
  const bool prefetch_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  bool worker_done_ = false;
  std::thread worker_;  // started by the constructor when prefetching, joined by the destructor
};

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  uint64_t seed = 0;       // with shuffle: the order of epoch e depends on (seed, e) only
  bool drop_last = false;  // drop a last batch smaller than batch_size
  bool prefetch = false;   // build the next batch on a worker thread
};

class DataLoader {
 public:
  DataLoader(const MnistDataset& dataset, DataLoaderOptions options = {});
  DataLoader(MnistDataset&&, DataLoaderOptions = {}) = delete;  // would dangle

  /// Batches per epoch: ceil(n / batch_size), or floor with drop_last.
  int64_t size() const;
  /// The order in which epoch `epoch` visits the images: 0..n-1, or a permutation with shuffle.
  std::vector<int64_t> order(int64_t epoch) const;
  /// One pass over the data, for `for (const Batch& b : loader.epoch(e))`.
  Epoch epoch(int64_t epoch) const;

  const MnistDataset& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  const MnistDataset& dataset_;
  DataLoaderOptions options_;
};

}  // namespace qg::data
