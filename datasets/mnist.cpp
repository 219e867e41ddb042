#include "datasets/mnist.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "datasets/idx.h"

namespace qg::data {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kLabelsHeaderBytes = 8;  // magic + one dimension

struct SplitFiles {
  const char* images;
  const char* labels;
};

SplitFiles split_files(Split split) {
  if (split == Split::kTrain) return {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
  return {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
}

// root/name if it exists, else root/name.gz; throws with the download hint when neither does.
std::string find_file(DatasetKind kind, const std::string& root, const std::string& name) {
  const fs::path plain = fs::path(root) / name;
  if (fs::exists(plain)) return plain.string();
  const fs::path gzip = fs::path(root) / (name + ".gz");
  if (fs::exists(gzip)) return gzip.string();
  throw std::runtime_error(dataset_name(kind) + ": cannot find " + plain.string() + " (nor " + gzip.string() +
                           "); " + download_hint(kind));
}

// Labels index the 10 classes; anything else means a damaged file or a different dataset.
void check_labels(const std::vector<uint8_t>& labels, const std::string& source, bool from_file) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < MnistDataset::kNumClasses) continue;
    std::string where = from_file ? " (byte offset " + std::to_string(kLabelsHeaderBytes + i) + ")" : "";
    throw std::runtime_error(source + ": label " + std::to_string(labels[i]) + " at index " +
                             std::to_string(i) + where + " is out of range; expected 0.." +
                             std::to_string(MnistDataset::kNumClasses - 1));
  }
}

}  // namespace

DatasetKind parse_dataset_kind(const std::string& name) {
  if (name == "mnist") return DatasetKind::kMnist;
  if (name == "fashion-mnist") return DatasetKind::kFashionMnist;
  throw std::invalid_argument("dataset: unknown dataset \"" + name +
                              "\"; expected \"mnist\" or \"fashion-mnist\"");
}

std::string dataset_name(DatasetKind kind) {
  return kind == DatasetKind::kMnist ? "mnist" : "fashion-mnist";
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::kTrain;
  if (name == "test") return Split::kTest;
  throw std::invalid_argument("dataset: unknown split \"" + name + "\"; expected \"train\" or \"test\"");
}

std::vector<std::string> split_files(DatasetKind kind, Split split, const std::string& root) {
  const SplitFiles names = split_files(split);
  return {find_file(kind, root, names.images), find_file(kind, root, names.labels)};
}

Normalization default_normalization(DatasetKind kind) {
  // Mean and standard deviation of all training pixels scaled to [0, 1].
  if (kind == DatasetKind::kMnist) return {0.1307f, 0.3081f};
  return {0.2860f, 0.3530f};
}

std::string default_root(DatasetKind kind) {
  if (kind == DatasetKind::kMnist) return "data/mnist";
  return "/usr/share/datasets/fashion-mnist";
}

std::string default_root(const std::string& name) {
  return default_root(parse_dataset_kind(name));
}

std::string download_hint(DatasetKind kind) {
  if (kind == DatasetKind::kMnist) {
    return "run scripts/get-data (from the repository root) to download MNIST into data/mnist";
  }
  return "install Debian's package with `apt-get install dataset-fashion-mnist` (or run scripts/get-data "
         "--fashion); it puts the files in /usr/share/datasets/fashion-mnist";
}

MnistDataset::MnistDataset(DatasetKind kind, Split split, const std::string& root)
    : name_(dataset_name(kind)), normalization_(default_normalization(kind)) {
  const std::vector<std::string> files = split_files(kind, split, root);
  const std::string& images_path = files[0];
  const std::string& labels_path = files[1];

  IdxArray images = read_idx(images_path, IdxKind::kImages, name_);
  IdxArray labels = read_idx(labels_path, IdxKind::kLabels, name_);
  if (images.dims[0] != labels.dims[0]) {
    throw std::runtime_error(name_ + ": " + images_path + " holds " + std::to_string(images.dims[0]) +
                             " images but " + labels_path + " holds " + std::to_string(labels.dims[0]) +
                             " labels; expected the same count");
  }
  check_labels(labels.data, name_ + ": " + labels_path, /*from_file=*/true);

  rows_ = images.dims[1];
  cols_ = images.dims[2];
  pixels_ = std::move(images.data);
  labels_ = std::move(labels.data);
}

MnistDataset::MnistDataset(std::vector<uint8_t> pixels, std::vector<uint8_t> labels, int64_t rows,
                           int64_t cols, Normalization normalization)
    : name_("in-memory"),
      pixels_(std::move(pixels)),
      labels_(std::move(labels)),
      rows_(rows),
      cols_(cols),
      normalization_(normalization) {
  if (rows_ <= 0 || cols_ <= 0) {
    throw std::invalid_argument("MnistDataset: image size must be positive, got " + std::to_string(rows_) +
                                "x" + std::to_string(cols_));
  }
  const auto expected = static_cast<size_t>(size() * rows_ * cols_);
  if (pixels_.size() != expected) {
    throw std::invalid_argument("MnistDataset: " + std::to_string(labels_.size()) + " labels of " +
                                std::to_string(rows_) + "x" + std::to_string(cols_) + " images need " +
                                std::to_string(expected) + " pixels, got " + std::to_string(pixels_.size()));
  }
  check_labels(labels_, "MnistDataset", /*from_file=*/false);
}

const uint8_t* MnistDataset::image(int64_t index) const {
  check_index(index);
  return pixels_.data() + index * pixels_per_image();
}

int64_t MnistDataset::label(int64_t index) const {
  check_index(index);
  return labels_[static_cast<size_t>(index)];
}

MnistDataset MnistDataset::head(int64_t n) const {
  if (n < 0) throw std::invalid_argument(name_ + ": head(n) needs n >= 0, got " + std::to_string(n));
  n = std::min(n, size());
  std::vector<uint8_t> pixels(pixels_.begin(), pixels_.begin() + n * pixels_per_image());
  std::vector<uint8_t> labels(labels_.begin(), labels_.begin() + n);
  MnistDataset subset(std::move(pixels), std::move(labels), rows_, cols_, normalization_);
  subset.name_ = name_;
  return subset;
}

void MnistDataset::check_index(int64_t index) const {
  if (index < 0 || index >= size()) {
    throw std::out_of_range(name_ + ": index " + std::to_string(index) + " out of range for " +
                            std::to_string(size()) + " images");
  }
}

}  // namespace qg::data
