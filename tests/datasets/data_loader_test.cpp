#include "datasets/data_loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace qg::data {
namespace {

constexpr int64_t kRows = 2;
constexpr int64_t kCols = 3;

// `n` images (n <= 256) whose every pixel equals the image's index, so a batch shows which images it holds.
MnistDataset indexed_dataset(int64_t n, Normalization normalization = {0.25f, 0.5f}) {
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    pixels.insert(pixels.end(), kRows * kCols, static_cast<uint8_t>(i));
    labels.push_back(static_cast<uint8_t>((i * 7) % 10));
  }
  return MnistDataset(pixels, labels, kRows, kCols, normalization);
}

float normalized(int64_t pixel, const Normalization& n) {
  return (pixel / 255.0f - n.mean) / n.std;
}

// The image indices a batch holds, read back from its first pixels (inverting the normalisation).
std::vector<int64_t> indices_of(const Batch& batch, const Normalization& n) {
  std::vector<int64_t> indices;
  const std::vector<float> values = batch.images.to_vector();
  for (int64_t b = 0; b < batch.size(); ++b) {
    const float x = values[static_cast<size_t>(b * kRows * kCols)];
    indices.push_back(std::lround((x * n.std + n.mean) * 255.0f));
  }
  return indices;
}

std::vector<Batch> collect(Epoch&& epoch) {
  std::vector<Batch> batches;
  for (const Batch& batch : epoch)
    batches.push_back(batch);
  return batches;
}

std::vector<int64_t> batch_sizes(const std::vector<Batch>& batches) {
  std::vector<int64_t> sizes;
  for (const Batch& b : batches)
    sizes.push_back(b.size());
  return sizes;
}

TEST(MakeBatch, NormalisesPixelsAndCopiesLabelsInIndexOrder) {
  const Normalization norm{0.1307f, 0.3081f};
  const MnistDataset dataset = indexed_dataset(20, norm);
  const std::vector<int64_t> indices = {7, 0, 19, 7};
  const Batch batch = make_batch(dataset, indices);
  ASSERT_EQ(batch.images.shape(), (Shape{4, 1, kRows, kCols}));
  ASSERT_EQ(batch.size(), 4);
  for (size_t b = 0; b < indices.size(); ++b) {
    EXPECT_EQ(batch.labels[b], dataset.label(indices[b]));
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t c = 0; c < kCols; ++c) {
        EXPECT_FLOAT_EQ(batch.images.at({static_cast<int64_t>(b), 0, r, c}), normalized(indices[b], norm));
      }
    }
  }
}

TEST(MakeBatch, RangeIsTheContiguousIndices) {
  const MnistDataset dataset = indexed_dataset(10);
  const Batch batch = make_batch(dataset, 3, 7);
  EXPECT_EQ(indices_of(batch, dataset.normalization()), (std::vector<int64_t>{3, 4, 5, 6}));
  EXPECT_THROW(make_batch(dataset, 8, 11), std::out_of_range);
  EXPECT_THROW(make_batch(dataset, 5, 4), std::out_of_range);
  EXPECT_THROW(make_batch(dataset, std::vector<int64_t>{0, 10}), std::out_of_range);
}

TEST(DataLoader, LastBatchIsPartialUnlessDropped) {
  const MnistDataset dataset = indexed_dataset(10);
  const DataLoader keep(dataset, {.batch_size = 4});
  EXPECT_EQ(keep.size(), 3);
  EXPECT_EQ(batch_sizes(collect(keep.epoch(0))), (std::vector<int64_t>{4, 4, 2}));

  const DataLoader drop(dataset, {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(drop.size(), 2);
  EXPECT_EQ(batch_sizes(collect(drop.epoch(0))), (std::vector<int64_t>{4, 4}));

  const DataLoader exact(dataset, {.batch_size = 5, .drop_last = true});
  EXPECT_EQ(batch_sizes(collect(exact.epoch(0))), (std::vector<int64_t>{5, 5}));

  const DataLoader too_big(dataset, {.batch_size = 11, .drop_last = true});
  EXPECT_EQ(too_big.size(), 0);
  EXPECT_TRUE(collect(too_big.epoch(0)).empty());
}

TEST(DataLoader, WithoutShuffleVisitsImagesInOrder) {
  const MnistDataset dataset = indexed_dataset(10);
  const DataLoader loader(dataset, {.batch_size = 3});
  std::vector<int64_t> seen;
  for (const Batch& batch : loader.epoch(5)) {
    for (int64_t i : indices_of(batch, dataset.normalization()))
      seen.push_back(i);
  }
  std::vector<int64_t> expected(10);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(seen, expected);
}

TEST(DataLoader, ShuffledEpochVisitsEveryImageOnceAndBatchesFollowTheOrder) {
  const MnistDataset dataset = indexed_dataset(100);
  const DataLoader loader(dataset, {.batch_size = 16, .shuffle = true, .seed = 7});
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    const std::vector<int64_t> order = loader.order(epoch);
    std::vector<int64_t> seen;
    std::vector<int64_t> labels;
    for (const Batch& batch : loader.epoch(epoch)) {
      for (int64_t i : indices_of(batch, dataset.normalization()))
        seen.push_back(i);
      labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
    }
    EXPECT_EQ(seen, order);
    for (size_t k = 0; k < seen.size(); ++k)
      EXPECT_EQ(labels[k], dataset.label(seen[k]));
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(100);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(seen, all) << "epoch " << epoch << " is not a permutation";
  }
}

TEST(DataLoader, ShuffleDependsOnSeedAndEpochOnly) {
  const MnistDataset dataset = indexed_dataset(100);
  const DataLoader a(dataset, {.batch_size = 8, .shuffle = true, .seed = 42});
  const DataLoader b(dataset, {.batch_size = 32, .shuffle = true, .seed = 42, .prefetch = true});
  const DataLoader other_seed(dataset, {.batch_size = 8, .shuffle = true, .seed = 43});
  std::vector<int64_t> identity(100);
  std::iota(identity.begin(), identity.end(), 0);

  // Another loader with the same seed (another batch size, prefetching) agrees: resuming is reproducible.
  EXPECT_EQ(a.order(3), b.order(3));
  EXPECT_EQ(a.order(0), a.order(0));
  EXPECT_NE(a.order(0), a.order(1));
  EXPECT_NE(a.order(1), a.order(2));
  EXPECT_NE(a.order(0), other_seed.order(0));
  EXPECT_NE(a.order(0), identity);
  EXPECT_THROW(a.order(-1), std::invalid_argument);
}

TEST(DataLoader, PrefetchGivesTheSameBatchesAsNoPrefetch) {
  const MnistDataset dataset = indexed_dataset(50);
  for (bool drop_last : {false, true}) {
    DataLoaderOptions options{.batch_size = 8, .shuffle = true, .seed = 3, .drop_last = drop_last};
    const DataLoader direct(dataset, options);
    options.prefetch = true;
    const DataLoader prefetching(dataset, options);
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      const std::vector<Batch> expected = collect(direct.epoch(epoch));
      const std::vector<Batch> actual = collect(prefetching.epoch(epoch));
      ASSERT_EQ(actual.size(), expected.size());
      ASSERT_EQ(static_cast<int64_t>(actual.size()), prefetching.size());
      for (size_t k = 0; k < actual.size(); ++k) {
        EXPECT_EQ(actual[k].labels, expected[k].labels);
        EXPECT_EQ(actual[k].images.shape(), expected[k].images.shape());
        EXPECT_EQ(actual[k].images.to_vector(), expected[k].images.to_vector());
      }
    }
  }
}

TEST(DataLoader, LeavingAPrefetchingEpochEarlyStopsTheWorker) {
  const MnistDataset dataset = indexed_dataset(64);
  const DataLoader loader(dataset, {.batch_size = 4, .prefetch = true});
  int64_t batches = 0;
  for (const Batch& batch : loader.epoch(0)) {
    EXPECT_EQ(batch.size(), 4);
    if (++batches == 2) break;  // the Epoch's destructor must stop and join the worker
  }
  EXPECT_EQ(batches, 2);
}

// An order with a bad index in its third batch: both modes hand out the first two batches, then throw.
TEST(Epoch, ErrorWhileBuildingABatchReachesTheCaller) {
  const MnistDataset dataset = indexed_dataset(10);
  for (bool prefetch : {false, true}) {
    Epoch epoch(dataset, {0, 1, 2, 3, 4, 99, 5}, 2, /*drop_last=*/false, prefetch);
    EXPECT_EQ(epoch.size(), 4);
    ASSERT_TRUE(epoch.next().has_value());
    ASSERT_TRUE(epoch.next().has_value());
    EXPECT_THROW(epoch.next(), std::out_of_range) << (prefetch ? "with prefetch" : "without prefetch");
    EXPECT_THROW(epoch.next(), std::out_of_range) << "a failed batch is not skipped on retry";
  }
}

TEST(DataLoader, RejectsBadOptions) {
  const MnistDataset dataset = indexed_dataset(4);
  EXPECT_THROW(DataLoader(dataset, {.batch_size = 0}), std::invalid_argument);
  EXPECT_THROW(Epoch(dataset, {0, 1}, -1, false, false), std::invalid_argument);
  // A loader over a temporary dataset would dangle, so it does not compile.
  static_assert(!std::is_constructible_v<DataLoader, MnistDataset&&, DataLoaderOptions>);
  static_assert(std::is_constructible_v<DataLoader, const MnistDataset&, DataLoaderOptions>);
}

}  // namespace
}  // namespace qg::data
