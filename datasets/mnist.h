// MNIST and Fashion-MNIST: 28x28 grey-scale images in 10 classes, 60000 for training and 10000 for
// testing. Both come as the same four IDX files (see datasets/idx.h), plain or gzip:
//
//   train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte
//
// The dataset keeps the pixels as they are on disk, one uint8 each (47 MB for the training set instead of
// 188 MB as float); the DataLoader normalises a batch at a time with
//
//   x = (pixel / 255 - mean) / std
//
// where mean and std are the per-dataset statistics of the training images, as torchvision's Normalize:
// MNIST 0.1307 / 0.3081, Fashion-MNIST 0.2860 / 0.3530.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qg::data {

enum class DatasetKind { kMnist, kFashionMnist };
enum class Split { kTrain, kTest };

/// "mnist" or "fashion-mnist" -> kind; throws std::invalid_argument listing the valid names.
DatasetKind parse_dataset_kind(const std::string& name);
/// kind -> "mnist" or "fashion-mnist".
std::string dataset_name(DatasetKind kind);
/// "train" or "test" -> split; throws std::invalid_argument otherwise.
Split parse_split(const std::string& name);

/// x = (pixel / 255 - mean) / std.
struct Normalization {
  float mean = 0.0f;
  float std = 1.0f;
};

/// The training-set statistics: MNIST {0.1307, 0.3081}, Fashion-MNIST {0.2860, 0.3530}.
Normalization default_normalization(DatasetKind kind);

/// Where the files are looked for by default: "data/mnist" (relative to the current directory, filled by
/// scripts/get-data) for MNIST; /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist) for
/// Fashion-MNIST.
std::string default_root(DatasetKind kind);
std::string default_root(const std::string& name);

/// What to run when the files are missing.
std::string download_hint(DatasetKind kind);

/// The two files MnistDataset(kind, split, root) reads, images then labels, each plain or with ".gz" as the
/// constructor chooses; throws std::runtime_error as it does when one is missing.
std::vector<std::string> split_files(DatasetKind kind, Split split, const std::string& root);

class MnistDataset {
 public:
  static constexpr int64_t kNumClasses = 10;

  /// Loads `split` from the IDX files in `root`, each named as above, plain or with ".gz" appended (plain
  /// is preferred when both exist). Throws std::runtime_error naming the file and, when files are
  /// missing, what to run to get them.
  MnistDataset(DatasetKind kind, Split split, const std::string& root);
  /// Same, from default_root(kind).
  MnistDataset(DatasetKind kind, Split split) : MnistDataset(kind, split, default_root(kind)) {}

  /// An in-memory dataset of `labels.size()` images of rows x cols pixels (row-major, image after image),
  /// checked like a loaded one. For tests and small experiments.
  MnistDataset(std::vector<uint8_t> pixels, std::vector<uint8_t> labels, int64_t rows, int64_t cols,
               Normalization normalization);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t pixels_per_image() const { return rows_ * cols_; }

  /// The raw pixels of image `index` (rows*cols bytes); bounds-checked.
  const uint8_t* image(int64_t index) const;
  /// The class of image `index`, in [0, kNumClasses); bounds-checked.
  int64_t label(int64_t index) const;

  /// The first min(n, size()) images with their labels, as a dataset of their own (a copy; same name,
  /// image size and normalisation), like pandas' DataFrame.head: a shorter run on a prefix of the data
  /// (the tools' --train-limit and --test-limit).
  /// Throws std::invalid_argument if n < 0.
  MnistDataset head(int64_t n) const;

  const Normalization& normalization() const { return normalization_; }
  void set_normalization(const Normalization& normalization) { normalization_ = normalization; }

  /// "mnist", "fashion-mnist", or "in-memory".
  const std::string& name() const { return name_; }

 private:
  void check_index(int64_t index) const;

  std::string name_;
  std::vector<uint8_t> pixels_;  // size() * rows * cols
  std::vector<uint8_t> labels_;  // size()
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  Normalization normalization_;
};

}  // namespace qg::data
