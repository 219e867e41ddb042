// The quant section resolved: every choice a quantization run makes, with each method's defaults filled in.
//
// A config names a method and may override any of its choices; this file is the one table of what each
// method chooses when the config does not (docs/config.md 2.4 prints it; tests/config/quant_recipe_test.cpp
// keeps the two in step). The resolved recipe is what the JSON report records and what a QAT checkpoint
// must match to be resumed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.h"

namespace qg::config {

struct QuantRecipe {
  std::string method;
  int64_t bits = 8;  // each layer's widths: resolve_layer_quant
  std::string observer;
  bool per_channel = false, symmetric = false, is_signed = false;
  std::string ste;
  bool fuse_relu = false;  // the ReLU before the output quantizer (all methods but the tutorial's)
  double observer_momentum = 0.1, percentile = 99.99;
  int64_t ptq_batches = 500;
  int64_t qat_epochs = 1;
  std::string qat_optimizer;
  double qat_lr = 0.01, qat_momentum = 0.5, weight_decay = 0.0;
  std::string lr_schedule;
  double warmup_epochs = 0.0;
  int64_t lr_step_epochs = 1;
  double lr_gamma = 0.1;
  int64_t freeze_observers_epoch = QuantConfig::kNever;
  int64_t freeze_bn_epoch = QuantConfig::kNever;

  nlohmann::json to_json() const;
};

/// `quant` with every absent method-dependent field set to its method's default.
QuantRecipe resolve_quant(const QuantConfig& quant);

/// The quantization of one conv2d or linear layer: the section's recipe, its first/last-layer widths and the
/// layer's own "quant" object combined (the layer's object wins). Under method binary the weights are 1-bit
/// (signs) unless first_layer_bits, last_layer_bits or the layer's own object give another width, and the
/// model input and the classifier stay at 8 bits unless input_bits / last_layer_bits say otherwise.
struct LayerQuantRecipe {
  size_t layer = 0;  // index into ModelConfig::layers
  std::string method;
  int64_t weight_bits = 8;
  int64_t activation_bits = 8;  // the layer's output
  int64_t input_bits = 8;       // the model input; used by the first quantized layer only
  bool first = false, last = false;

  /// {"layer", "method", "weight_bits", "activation_bits"} and, for the first layer, "input_bits".
  nlohmann::json to_json() const;
};

/// One entry per conv2d/linear layer, in order. Throws ConfigError at /layers/N/quant (or /quant) when a
/// layer's widths cannot work with its method: an activation cannot be signed 1-bit (binary).
std::vector<LayerQuantRecipe> resolve_layer_quant(const ModelConfig& config);

/// The method defaults as a table (rows: fields, columns: methods), for docs/config.md.
std::string method_defaults_markdown();

const std::vector<std::string>& method_names();  // tutorial, ema, lsq, binary

}  // namespace qg::config
