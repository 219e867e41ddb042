// A tiny training world for the robustness tests: synthetic digits written as the four MNIST IDX files
// and a small JSON config pointing at them, so that whole runs of train and train_qat (and their resumes)
// take a fraction of a second. Shared by tests/app (jobs in-process) and tests/tools (the tools as
// processes).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/synthetic_digits.h"
#include "datasets/test_files.h"
#include "util/atomic_file.h"

namespace qg::testing {

/// Layers of a small CNN with batch norm: conv, BN and ReLU (QConvBNReLU under QAT), pool, linear.
inline const char* kTinyCnnLayers = R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
      {"type": "batchnorm2d"},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 2},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ])";

/// Layers of a wider two-layer perceptron: ~100k parameters, so that a checkpoint (weights and momentum)
/// is about 0.8 MB and takes long enough to write that a kill can land in the middle of a save.
inline const char* kWideMlpLayers = R"([
      {"type": "flatten"},
      {"type": "linear", "out_features": 128},
      {"type": "relu"},
      {"type": "linear", "out_features": 10}
    ])";

/// Writes `digits` as an MNIST split ("train" or "t10k") into `dir`: images plain, labels gzip (both
/// encodings are read).
inline void write_mnist_split(const SyntheticDigits& digits, const data::testing::TempDir& dir,
                              const std::string& prefix, uint32_t side = 28) {
  using namespace data::testing;
  const auto n = static_cast<uint32_t>(digits.size());
  Bytes pixels = digits.pixels;
  if (side != 28) {  // crop: the wrong-shape data of the tools tests
    pixels.clear();
    for (uint32_t i = 0; i < n; ++i) {
      for (uint32_t r = 0; r < side; ++r) {
        for (uint32_t c = 0; c < side; ++c)
          pixels.push_back(digits.pixels[i * 784 + r * 28 + c]);
      }
    }
  }
  write_idx_file(dir.file(prefix + "-images-idx3-ubyte"), idx_bytes(kImagesMagic, {n, side, side}, pixels),
                 false);
  const Bytes labels(digits.labels.begin(), digits.labels.end());
  write_idx_file(dir.file(prefix + "-labels-idx1-ubyte.gz"), idx_bytes(kLabelsMagic, {n}, labels), true);
}

struct TinyConfig {
  std::string name = "tiny_cnn_bn";
  const char* layers = kTinyCnnLayers;
  int64_t epochs = 2;
  int64_t batch_size = 32;
  double lr = 0.05;
  std::string method = "tutorial";
  std::string observer = "minmax";
  bool per_channel = false;
  int64_t qat_epochs = 2;
  int64_t input_side = 28;  // the config's input [1, side, side]
  double percentile = 99.99;
  double qat_lr = 0.01;
};

/// How gtest prints a TinyConfig parameter: its name and quantization, not its bytes.
inline void PrintTo(const TinyConfig& c, std::ostream* os) {
  *os << c.name << " (" << c.method << ", " << c.observer << (c.per_channel ? ", per channel" : "") << ")";
}

inline std::string tiny_config_json(const TinyConfig& c, const std::string& data_root) {
  const std::string side = std::to_string(c.input_side);
  return R"({
    "name": ")" +
         c.name + R"(",
    "input": {"shape": [1, )" +
         side + ", " + side + R"(]},
    "layers": )" +
         c.layers + R"(,
    "train": {"epochs": )" +
         std::to_string(c.epochs) + R"(, "batch_size": )" + std::to_string(c.batch_size) +
         R"(, "test_batch_size": 100, "lr": )" + std::to_string(c.lr) + R"(, "momentum": 0.5, "seed": 3},
    "data": {"dataset": "mnist", "root": ")" +
         data_root + R"("},
    "quant": {"method": ")" +
         c.method + R"(", "bits": 8, "observer": ")" + c.observer + R"(", "per_channel": )" +
         (c.per_channel ? "true" : "false") + R"(, "ptq_batches": 4, "qat_epochs": )" +
         std::to_string(c.qat_epochs) + R"(, "qat_lr": )" + std::to_string(c.qat_lr) + R"(, "percentile": )" +
         std::to_string(c.percentile) + R"(}
  })";
}

/// A data folder with `train_images` training and `test_images` test digits, and a work folder holding the
/// config "tiny.json".
class TinyWorld {
 public:
  explicit TinyWorld(const TinyConfig& config = {}, int64_t train_images = 256, int64_t test_images = 64,
                     uint32_t image_side = 28) {
    write_mnist_split(SyntheticDigits(train_images, 11), data, "train", image_side);
    write_mnist_split(SyntheticDigits(test_images, 12), data, "t10k", image_side);
    write_config(config);
  }
  void write_config(const TinyConfig& config, const std::string& file = "tiny.json") const {
    util::write_file_atomically(work.file(file), tiny_config_json(config, data.path().string()));
  }
  std::string config_path(const std::string& file = "tiny.json") const { return work.file(file); }
  std::string file(const std::string& name) const { return work.file(name); }

  data::testing::TempDir data, work;
};

}  // namespace qg::testing
