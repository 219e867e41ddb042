// Readers for the parts of a config file: one layer, and the train, data and quant sections.
// Each checks types, ranges and keys (see config/object_reader.h) and returns a plain struct;
// config/loader.cpp puts them together. Key lists are public so that tests and docs can enumerate them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.h"

namespace qg::config {

/// Reads `value`, the layer at `pointer` (e.g. "/layers/3"), with the keys of its kind
/// (config/layer_kind.h). Leaves the inferred fields empty.
LayerSpec read_layer(const nlohmann::json& value, const std::string& pointer, const std::string& source);

TrainConfig read_train(const nlohmann::json& value, const std::string& source);
DataConfig read_data(const nlohmann::json& value, const std::string& source);
QuantConfig read_quant(const nlohmann::json& value, const std::string& source);
/// A conv2d/linear layer's "quant" object at `pointer` (e.g. "/layers/0/quant").
LayerQuantConfig read_layer_quant(const nlohmann::json& value, const std::string& pointer,
                                  const std::string& source);

const std::vector<std::string>& optimizer_names();    // sgd, adam
const std::vector<std::string>& observer_names();     // minmax, moving_average_minmax, percentile, histogram
const std::vector<std::string>& ste_names();          // identity, clipped
const std::vector<std::string>& lr_schedule_names();  // constant, step, cosine
const std::vector<std::string>& quant_keys();         // every key of the quant section
const std::vector<std::string>& layer_quant_keys();   // method, bits, weight_bits, activation_bits

}  // namespace qg::config
