// The model config as plain C++ structs: what a JSON config file (docs/config.md) turns into.
//
// The structs are deliberately plain aggregates so that a tool can override a field from the command line
// (`config.train.lr = 0.1`). After changing fields in code, call `revalidate` (config/loader.h): it runs
// every check and the shape inference again, exactly as for a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/shape.h"

namespace qg::config {

enum class LayerType { kConv2d, kMaxPool2d, kAvgPool2d, kReLU, kBatchNorm2d, kLinear, kFlatten };

/// One entry of "layers". Only the fields of its `type` are meaningful; the others keep their defaults.
/// The fields under "inferred" are filled by shape inference (config/shape_inference.h).
struct LayerSpec {
  LayerType type = LayerType::kReLU;

  // conv2d. in_channels 0 means "infer from the input".
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  // conv2d, maxpool2d, avgpool2d. For pooling the loader sets stride = kernel_size when it is not given.
  int64_t kernel_size = 0;
  int64_t stride = 1;
  int64_t padding = 0;
  // conv2d only.
  int64_t dilation = 1;
  int64_t groups = 1;
  // conv2d and linear.
  bool bias = true;

  // batchnorm2d. num_features 0 means "infer from the input".
  int64_t num_features = 0;
  double eps = 1e-5;
  double momentum = 0.1;

  // linear. in_features 0 means "infer from the input".
  int64_t in_features = 0;
  int64_t out_features = 0;

  // inferred: shapes without the batch axis, e.g. [40, 26, 26]; element counts of parameters (trained)
  // and buffers (saved, not trained: BatchNorm's running statistics and num_batches_tracked).
  Shape input_shape;
  Shape output_shape;
  int64_t parameter_count = 0;
  int64_t buffer_count = 0;
};

struct TrainConfig {
  int64_t epochs = 5;
  int64_t batch_size = 64;
  int64_t test_batch_size = 1000;
  std::string optimizer = "sgd";  // "sgd" or "adam"
  double lr = 0.01;
  double momentum = 0.5;  // sgd
  double weight_decay = 0.0;
  bool nesterov = false;  // sgd
  uint64_t seed = 1;
  double beta1 = 0.9;    // adam
  double beta2 = 0.999;  // adam
  double eps = 1e-8;     // adam
};

struct DataConfig {
  std::string dataset = "mnist";  // "mnist" or "fashion-mnist"
  /// Directory holding the four IDX files. The loader replaces an absent or empty root with the dataset's
  /// default root (config/dataset_info.h), so after loading it is never empty.
  std::string root = "data/mnist";
};

struct QuantConfig {
  int64_t bits = 8;                 // 1..8
  std::string observer = "minmax";  // "minmax", "moving_average_minmax", "percentile", "histogram"
  bool per_channel = false;
  bool symmetric = false;
  bool is_signed = false;  // JSON key "signed"
  int64_t ptq_batches = 500;
  int64_t qat_epochs = 1;
  double qat_lr = 0.01;
  double qat_momentum = 0.5;
  std::string ste = "identity";    // "identity" or "clipped"
  double observer_momentum = 0.1;  // moving_average_minmax
  double percentile = 99.99;       // percentile
};

struct ModelConfig {
  std::string name;
  std::string description;
  /// Where the config came from (a file path, or a label for configs made in code); prefixes every error.
  std::string source;
  /// One sample's shape [C, H, W], without the batch axis.
  Shape input_shape;
  std::vector<LayerSpec> layers;
  TrainConfig train;
  DataConfig data;
  QuantConfig quant;

  /// The last layer's output shape without the batch axis, e.g. [10]; the input shape if there are no
  /// layers.
  const Shape& output_shape() const;
  int64_t parameter_count() const;
  int64_t buffer_count() const;
};

/// The JSON name of a layer type, e.g. "conv2d".
const char* layer_json_name(LayerType type);
/// The nn module's type name, e.g. "Conv2d" (as nn::Module::type_name() returns).
const char* layer_module_name(LayerType type);
/// All layer types in the order the docs list them.
const std::vector<LayerType>& all_layer_types();

}  // namespace qg::config
