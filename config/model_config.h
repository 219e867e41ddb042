// The model config as plain C++ structs: what a JSON config file (docs/config.md) turns into.
//
// The structs are deliberately plain aggregates so that a tool can override a field from the command line
// (`config.train.lr = 0.1`). After changing fields in code, call `revalidate` (config/loader.h): it runs
// every check and the shape inference again, exactly as for a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/shape.h"

namespace qg::config {

struct LayerKind;  // config/layer_kind.h: everything about one kind of layer
/// The kind of a LayerSpec made in code before its kind is set: relu.
const LayerKind* default_layer_kind();

/// A conv2d or linear layer's own quantization (its "quant" object), overriding the quant section for this
/// layer: mixed precision (e.g. the classifier at 8 bits) or another method. Absent fields follow the
/// section (config/quant_recipe.h).
struct LayerQuantConfig {
  std::optional<std::string> method;
  std::optional<int64_t> weight_bits;      // "weight_bits", or "bits" for both
  std::optional<int64_t> activation_bits;  // this layer's output; "activation_bits", or "bits" for both

  bool empty() const { return !method && !weight_bits && !activation_bits; }
  friend bool operator==(const LayerQuantConfig&, const LayerQuantConfig&) = default;
};

/// One entry of "layers". Only the fields of its kind are meaningful (the kind's keys, config/layer_kind.h);
/// the others keep their defaults. The fields under "inferred" are filled by shape inference
/// (config/shape_inference.h).
struct LayerSpec {
  /// Its "type": one row of the registry of layer kinds (config/layer_kinds.cpp), never null.
  const LayerKind* kind = default_layer_kind();
  /// Its "name" (optional): how other layers' "inputs" refer to it. Unique in the model; never "input".
  std::string name;
  /// Its "inputs" as written: the names of the layers it reads ("input" is the model input). Empty means
  /// the default: the previous layer (the model input for the first layer), so a chain needs no names.
  std::vector<std::string> inputs;

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

  // dropout: the probability of zeroing an element while training.
  double p = 0.5;

  // conv2d and linear.
  LayerQuantConfig quant;

  // inferred: the layers it reads (indices into ModelConfig::layers, each below this layer's; kModelInput
  // for the model input); shapes without the batch axis, e.g. [40, 26, 26] (input_shape: of its first
  // input); element counts of parameters (trained) and buffers (saved, not trained: BatchNorm's running
  // statistics and num_batches_tracked).
  std::vector<int64_t> input_layers;
  static constexpr int64_t kModelInput = -1;
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

/// The "quant" section. Fields that depend on the method are optional: absent means "the method's default"
/// (config/quant_recipe.h resolves them), so switching method is a one-word change and the config file keeps
/// only what its author chose.
struct QuantConfig {
  std::string method = "lsq";               // "tutorial", "ema", "lsq", "binary"
  int64_t bits = 8;                         // 1..8: weights and activations
  std::optional<int64_t> input_bits;        // the model input (default: bits)
  std::optional<int64_t> first_layer_bits;  // the first conv/linear's weights (default: bits)
  std::optional<int64_t> last_layer_bits;   // the last conv/linear's weights and output (default: bits)

  // Observers and STE (methods tutorial and ema; per_channel also for lsq).
  std::optional<std::string> observer;  // "minmax", "moving_average_minmax", "percentile", "histogram"
  std::optional<bool> per_channel;
  std::optional<bool> symmetric;
  std::optional<bool> is_signed;   // JSON key "signed"
  std::optional<std::string> ste;  // "identity" or "clipped"
  double observer_momentum = 0.1;  // moving_average_minmax
  double percentile = 99.99;       // percentile

  int64_t ptq_batches = 500;

  // The QAT recipe.
  int64_t qat_epochs = 1;
  std::optional<std::string> qat_optimizer;  // "sgd" or "adam"
  std::optional<double> qat_lr;
  std::optional<double> qat_momentum;      // sgd
  double weight_decay = 0.0;               // never applied to learned step sizes
  std::optional<std::string> lr_schedule;  // "constant", "step", "cosine"
  std::optional<double> warmup_epochs;     // linear warm-up from lr/10 over this many epochs
  int64_t lr_step_epochs = 1;              // step: epochs between decays
  double lr_gamma = 0.1;                   // step: decay factor
  /// Epochs after which the observers (freeze_observers_epoch) or the BatchNorm statistics
  /// (freeze_bn_epoch) are frozen: 0 = from the start, kNever (JSON null) = never; absent = the method's.
  std::optional<int64_t> freeze_observers_epoch;
  std::optional<int64_t> freeze_bn_epoch;
  static constexpr int64_t kNever = -1;

  friend bool operator==(const QuantConfig&, const QuantConfig&) = default;
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

  /// True when every layer reads the layer before it (the first: the model input): a plain chain, as
  /// every config was before graphs. Needs inferred input_layers.
  bool is_chain() const;
  /// The last layer's output shape without the batch axis, e.g. [10]; the input shape if there are no
  /// layers.
  const Shape& output_shape() const;
  int64_t parameter_count() const;
  int64_t buffer_count() const;
};

}  // namespace qg::config
