#include "datasets/mnist.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_files.h"

namespace qg::data {
namespace {

using testing::Bytes;
using testing::idx_bytes;
using testing::kImagesMagic;
using testing::kLabelsMagic;
using testing::pattern_bytes;
using testing::TempDir;
using testing::write_idx_file;

void expect_contains(const std::string& message, std::initializer_list<std::string> parts) {
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "message: " << message << "\nmissing: " << part;
  }
}

std::string load_error(DatasetKind kind, Split split, const std::string& root) {
  try {
    MnistDataset dataset(kind, split, root);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading from " << root << " did not throw";
  return "";
}

// A small split in MNIST's layout: `count` images of rows x cols.
struct FakeSplit {
  Bytes pixels;
  Bytes labels;
};

FakeSplit write_split(const TempDir& dir, const std::string& prefix, uint32_t count, uint32_t rows,
                      uint32_t cols, bool gzip, uint32_t salt = 0) {
  FakeSplit split{pattern_bytes(size_t{count} * rows * cols, salt), pattern_bytes(count, salt + 1, 10)};
  const std::string suffix = gzip ? ".gz" : "";
  write_idx_file(dir.file(prefix + "-images-idx3-ubyte" + suffix),
                 idx_bytes(kImagesMagic, {count, rows, cols}, split.pixels), gzip);
  write_idx_file(dir.file(prefix + "-labels-idx1-ubyte" + suffix),
                 idx_bytes(kLabelsMagic, {count}, split.labels), gzip);
  return split;
}

void expect_holds(const MnistDataset& dataset, const FakeSplit& split, int64_t rows, int64_t cols) {
  ASSERT_EQ(dataset.size(), static_cast<int64_t>(split.labels.size()));
  ASSERT_EQ(dataset.rows(), rows);
  ASSERT_EQ(dataset.cols(), cols);
  for (int64_t i = 0; i < dataset.size(); ++i) {
    EXPECT_EQ(dataset.label(i), split.labels[i]) << "label " << i;
    const Bytes image(dataset.image(i), dataset.image(i) + rows * cols);
    const Bytes expected(split.pixels.begin() + i * rows * cols,
                         split.pixels.begin() + (i + 1) * rows * cols);
    EXPECT_EQ(image, expected) << "image " << i;
  }
}

TEST(MnistDataset, LoadsPlainTrainAndGzipTestSplits) {
  TempDir dir;
  const FakeSplit train = write_split(dir, "train", 6, 28, 28, /*gzip=*/false, 1);
  const FakeSplit test = write_split(dir, "t10k", 4, 28, 28, /*gzip=*/true, 2);
  expect_holds(MnistDataset(DatasetKind::kMnist, Split::kTrain, dir.path().string()), train, 28, 28);
  expect_holds(MnistDataset(DatasetKind::kMnist, Split::kTest, dir.path().string()), test, 28, 28);
}

TEST(MnistDataset, ImageSizeComesFromTheHeader) {
  TempDir dir;
  const FakeSplit train = write_split(dir, "train", 3, 5, 7, /*gzip=*/false);
  expect_holds(MnistDataset(DatasetKind::kFashionMnist, Split::kTrain, dir.path().string()), train, 5, 7);
}

TEST(MnistDataset, PrefersThePlainFileWhenBothExist) {
  TempDir dir;
  const FakeSplit plain = write_split(dir, "train", 5, 4, 4, /*gzip=*/false, 10);
  const FakeSplit gzip = write_split(dir, "train", 5, 4, 4, /*gzip=*/true, 20);
  ASSERT_NE(plain.pixels, gzip.pixels);
  expect_holds(MnistDataset(DatasetKind::kMnist, Split::kTrain, dir.path().string()), plain, 4, 4);
}

TEST(MnistDataset, MissingMnistFilesSayToRunGetData) {
  TempDir dir;
  expect_contains(load_error(DatasetKind::kMnist, Split::kTrain, dir.path().string()),
                  {"mnist: cannot find " + dir.file("train-images-idx3-ubyte"), "train-images-idx3-ubyte.gz",
                   "scripts/get-data"});
}

TEST(MnistDataset, MissingFashionFilesSayToInstallTheDebianPackage) {
  TempDir dir;
  write_split(dir, "train", 2, 3, 3, /*gzip=*/false);  // the train split alone: the test split is missing
  expect_contains(load_error(DatasetKind::kFashionMnist, Split::kTest, dir.path().string()),
                  {"fashion-mnist: cannot find " + dir.file("t10k-images-idx3-ubyte"),
                   "apt-get install dataset-fashion-mnist"});
}

TEST(MnistDataset, BrokenFileErrorsNameTheDataset) {
  TempDir dir;
  write_split(dir, "train", 2, 3, 3, /*gzip=*/false);
  // Swap the roles: an images file where the labels belong.
  std::filesystem::copy_file(dir.file("train-images-idx3-ubyte"), dir.file("train-labels-idx1-ubyte"),
                             std::filesystem::copy_options::overwrite_existing);
  expect_contains(load_error(DatasetKind::kMnist, Split::kTrain, dir.path().string()),
                  {"mnist: " + dir.file("train-labels-idx1-ubyte") + ": expected magic 0x00000801"});
}

TEST(MnistDataset, LabelOutOfRange) {
  TempDir dir;
  write_split(dir, "train", 4, 2, 2, /*gzip=*/false);
  write_idx_file(dir.file("train-labels-idx1-ubyte"), idx_bytes(kLabelsMagic, {4}, {1, 9, 10, 3}), false);
  expect_contains(load_error(DatasetKind::kMnist, Split::kTrain, dir.path().string()),
                  {dir.file("train-labels-idx1-ubyte"),
                   "label 10 at index 2 (byte offset 10) is out of range", "expected 0..9"});
}

TEST(MnistDataset, ImageAndLabelCountsMustAgree) {
  TempDir dir;
  write_split(dir, "t10k", 3, 2, 2, /*gzip=*/true);
  write_idx_file(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes(kLabelsMagic, {4}, {1, 2, 3, 4}), true);
  expect_contains(load_error(DatasetKind::kMnist, Split::kTest, dir.path().string()),
                  {"holds 3 images but", "t10k-labels-idx1-ubyte.gz holds 4 labels"});
}

TEST(MnistDataset, EachKindHasItsDocumentedNormalization) {
  TempDir dir;
  write_split(dir, "train", 2, 2, 2, /*gzip=*/false);
  for (DatasetKind kind : {DatasetKind::kMnist, DatasetKind::kFashionMnist}) {
    const MnistDataset dataset(kind, Split::kTrain, dir.path().string());
    EXPECT_EQ(dataset.name(), dataset_name(kind));
    EXPECT_EQ(dataset.normalization().mean, default_normalization(kind).mean);
    EXPECT_EQ(dataset.normalization().std, default_normalization(kind).std);
  }
  // torchvision's Normalize values for the two datasets (docs/data.md).
  EXPECT_FLOAT_EQ(default_normalization(DatasetKind::kMnist).mean, 0.1307f);
  EXPECT_FLOAT_EQ(default_normalization(DatasetKind::kMnist).std, 0.3081f);
  EXPECT_FLOAT_EQ(default_normalization(DatasetKind::kFashionMnist).mean, 0.2860f);
  EXPECT_FLOAT_EQ(default_normalization(DatasetKind::kFashionMnist).std, 0.3530f);
}

TEST(MnistDataset, NamesAndDefaultRoots) {
  EXPECT_EQ(parse_dataset_kind("mnist"), DatasetKind::kMnist);
  EXPECT_EQ(parse_dataset_kind("fashion-mnist"), DatasetKind::kFashionMnist);
  EXPECT_EQ(dataset_name(parse_dataset_kind("fashion-mnist")), "fashion-mnist");
  EXPECT_THROW(parse_dataset_kind("cifar10"), std::invalid_argument);
  EXPECT_EQ(parse_split("train"), Split::kTrain);
  EXPECT_EQ(parse_split("test"), Split::kTest);
  EXPECT_THROW(parse_split("validation"), std::invalid_argument);
  EXPECT_EQ(default_root("mnist"), "data/mnist");
  // Where `dpkg -L dataset-fashion-mnist` lists the files.
  EXPECT_EQ(default_root("fashion-mnist"), "/usr/share/datasets/fashion-mnist");
}

TEST(MnistDataset, InMemoryDatasetIsCheckedLikeALoadedOne) {
  const MnistDataset dataset(Bytes{1, 2, 3, 4, 5, 6, 7, 8}, Bytes{3, 9}, 2, 2, {0.5f, 0.25f});
  EXPECT_EQ(dataset.size(), 2);
  EXPECT_EQ(dataset.label(1), 9);
  EXPECT_EQ(dataset.image(1)[0], 5);
  EXPECT_THROW(dataset.image(2), std::out_of_range);
  EXPECT_THROW(dataset.label(-1), std::out_of_range);
  EXPECT_THROW(MnistDataset(Bytes{1, 2, 3}, Bytes{3, 9}, 2, 2, {}), std::invalid_argument);
  EXPECT_THROW(MnistDataset(Bytes{1, 2, 3, 4}, Bytes{12}, 2, 2, {}), std::runtime_error);
  EXPECT_THROW(MnistDataset(Bytes{}, Bytes{}, 0, 2, {}), std::invalid_argument);
}

// ---- the real data, when present ---------------------------------------------------------------

struct PixelStats {
  double mean = 0;
  double std = 0;
};

// Statistics of all pixels scaled to [0, 1], from a histogram of the 256 byte values.
PixelStats pixel_stats(const MnistDataset& dataset) {
  std::array<double, 256> histogram{};
  for (int64_t i = 0; i < dataset.size(); ++i) {
    const uint8_t* image = dataset.image(i);
    for (int64_t p = 0; p < dataset.pixels_per_image(); ++p)
      histogram[image[p]] += 1;
  }
  double n = 0, sum = 0, sum_sq = 0;
  for (int v = 0; v < 256; ++v) {
    const double x = v / 255.0;
    n += histogram[v];
    sum += histogram[v] * x;
    sum_sq += histogram[v] * x * x;
  }
  const double mean = sum / n;
  return {mean, std::sqrt(sum_sq / n - mean * mean)};
}

void check_real_dataset(DatasetKind kind, const std::string& root) {
  if (!std::filesystem::exists(std::filesystem::path(root) / "train-labels-idx1-ubyte") &&
      !std::filesystem::exists(std::filesystem::path(root) / "train-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << dataset_name(kind) << " not found in " << root << "; " << download_hint(kind);
  }
  const MnistDataset train(kind, Split::kTrain, root);
  const MnistDataset test(kind, Split::kTest, root);
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.rows(), 28);
  EXPECT_EQ(train.cols(), 28);
  std::array<int64_t, MnistDataset::kNumClasses> per_class{};
  for (int64_t i = 0; i < train.size(); ++i)
    ++per_class[static_cast<size_t>(train.label(i))];
  for (int64_t count : per_class)
    EXPECT_GT(count, 5000);  // every class is well represented
  // The documented normalisation constants are the training set's own statistics.
  const PixelStats stats = pixel_stats(train);
  EXPECT_NEAR(stats.mean, train.normalization().mean, 5e-4);
  EXPECT_NEAR(stats.std, train.normalization().std, 5e-4);
}

TEST(RealData, Mnist) {
  check_real_dataset(DatasetKind::kMnist, std::string(QG_SOURCE_DIR) + "/data/mnist");
}

TEST(RealData, FashionMnist) {
  check_real_dataset(DatasetKind::kFashionMnist, default_root(DatasetKind::kFashionMnist));
}

TEST(MnistDataset, HeadKeepsTheFirstImagesWithTheirLabels) {
  std::vector<uint8_t> pixels(5 * 4), labels{3, 1, 4, 1, 5};
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<uint8_t>(i);
  const MnistDataset all(pixels, labels, 2, 2, {0.5f, 0.25f});
  const MnistDataset three = all.head(3);
  ASSERT_EQ(three.size(), 3);
  EXPECT_EQ(three.name(), all.name());
  EXPECT_EQ(three.normalization().mean, 0.5f);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(three.label(i), all.label(i));
    EXPECT_EQ(std::vector<uint8_t>(three.image(i), three.image(i) + 4),
              std::vector<uint8_t>(all.image(i), all.image(i) + 4));
  }
  EXPECT_THROW(three.image(3), std::out_of_range);
  EXPECT_EQ(all.head(99).size(), 5);  // more than there are: all of them
  EXPECT_EQ(all.head(0).size(), 0);
  EXPECT_THROW(all.head(-1), std::invalid_argument);
}

}  // namespace
}  // namespace qg::data
