#include "datasets/data_loader.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/random.h"

namespace qg::data {

namespace {

// All 256 possible pixel values normalised once: x = (p / 255 - mean) / std.
std::array<float, 256> normalization_table(const Normalization& n) {
  std::array<float, 256> table{};
  for (int p = 0; p < 256; ++p)
    table[p] = (static_cast<float>(p) / 255.0f - n.mean) / n.std;
  return table;
}

// The splitmix64 finaliser (Steele, Lea, Flood 2014): a bijection that scatters nearby inputs, so that
// (seed, e) and (seed, e + 1) seed unrelated generator streams.
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return splitmix64(seed ^ splitmix64(static_cast<uint64_t>(epoch)));
}

// Fisher-Yates: position i takes a uniformly chosen element of the not yet placed ones [0, i].
void shuffle_in_place(std::vector<int64_t>& values, Generator& gen) {
  for (size_t i = values.size(); i-- > 1;)
    std::swap(values[i], values[gen.below(i + 1)]);
}

int64_t batch_count(int64_t n, int64_t batch_size, bool drop_last) {
  return drop_last ? n / batch_size : (n + batch_size - 1) / batch_size;
}

}  // namespace

Batch make_batch(const MnistDataset& dataset, std::span<const int64_t> indices) {
  const auto table = normalization_table(dataset.normalization());
  const int64_t pixels = dataset.pixels_per_image();
  Batch batch;
  // Every pixel is written below: no need to zero the tensor first.
  batch.images = Tensor::empty({static_cast<int64_t>(indices.size()), 1, dataset.rows(), dataset.cols()});
  batch.labels.reserve(indices.size());
  float* out = batch.images.data();
  for (int64_t index : indices) {
    const uint8_t* image = dataset.image(index);
    for (int64_t p = 0; p < pixels; ++p)
      out[p] = table[image[p]];
    out += pixels;
    batch.labels.push_back(dataset.label(index));
  }
  return batch;
}

Batch make_batch(const MnistDataset& dataset, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin || end > dataset.size()) {
    throw std::out_of_range("make_batch: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") is not within the " + std::to_string(dataset.size()) + " images");
  }
  std::vector<int64_t> indices(static_cast<size_t>(end - begin));
  std::iota(indices.begin(), indices.end(), begin);
  return make_batch(dataset, indices);
}

// ---- Epoch --------------------------------------------------------------------------------------

Epoch::Epoch(const MnistDataset& dataset, std::vector<int64_t> order, int64_t batch_size, bool drop_last,
             bool prefetch, BatchShard shard)
    : dataset_(dataset),
      order_(std::move(order)),
      batch_size_(batch_size),
      num_batches_(batch_size > 0 ? batch_count(static_cast<int64_t>(order_.size()), batch_size, drop_last)
                                  : 0),
      shard_(shard),
      prefetch_(prefetch) {
  if (batch_size <= 0) {
    throw std::invalid_argument("data loader: batch_size must be at least 1, got " +
                                std::to_string(batch_size));
  }
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count) {
    throw std::invalid_argument("data loader: shard " + std::to_string(shard.index) + " of " +
                                std::to_string(shard.count) + " does not exist");
  }
  if (prefetch_) worker_ = std::thread([this] { produce(); });
}

Epoch::~Epoch() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Batch Epoch::build(int64_t batch_index) const {
  const int64_t begin = batch_index * batch_size_;
  const int64_t end = std::min<int64_t>(begin + batch_size_, static_cast<int64_t>(order_.size()));
  const auto [from, to] = shard_.slice(end - begin);
  return make_batch(dataset_, std::span(order_).subspan(begin + from, to - from));
}

std::optional<Batch> Epoch::next() {
  if (handed_out_ >= num_batches_) return std::nullopt;
  if (!prefetch_) {
    Batch batch =
        build(handed_out_);  // on failure handed_out_ stays, so a retry fails again, as with prefetch
    ++handed_out_;
    return batch;
  }

  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return ready_.has_value() || error_ || worker_done_; });
  // A batch built before a failure is still handed out first.
  if (!ready_.has_value()) {
    if (error_) std::rethrow_exception(error_);
    assert(false && "the worker finished without producing every batch");
  }
  std::optional<Batch> batch = std::move(ready_);
  ready_.reset();
  ++handed_out_;
  changed_.notify_all();  // the slot is free: the worker may start on the next batch
  return batch;
}

void Epoch::produce() {
  try {
    for (int64_t b = 0; b < num_batches_; ++b) {
      Batch batch = build(b);  // outside the lock: this is the work that overlaps the caller's
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || !ready_.has_value(); });
      if (stop_) break;
      ready_ = std::move(batch);
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    error_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  worker_done_ = true;
  changed_.notify_all();
}

// ---- DataLoader ---------------------------------------------------------------------------------

DataLoader::DataLoader(const MnistDataset& dataset, DataLoaderOptions options)
    : dataset_(dataset), options_(options) {
  if (options_.batch_size <= 0) {
    throw std::invalid_argument("data loader: batch_size must be at least 1, got " +
                                std::to_string(options_.batch_size));
  }
}

int64_t DataLoader::size() const {
  return batch_count(dataset_.size(), options_.batch_size, options_.drop_last);
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  if (epoch < 0) throw std::invalid_argument("data loader: epoch must be >= 0, got " + std::to_string(epoch));
  std::vector<int64_t> indices(static_cast<size_t>(dataset_.size()));
  std::iota(indices.begin(), indices.end(), int64_t{0});
  if (options_.shuffle) {
    Generator gen(epoch_seed(options_.seed, epoch));
    shuffle_in_place(indices, gen);
  }
  return indices;
}

Epoch DataLoader::epoch(int64_t epoch) const {
  return Epoch(dataset_, order(epoch), options_.batch_size, options_.drop_last, options_.prefetch);
}

}  // namespace qg::data
