// Loading a model config: JSON text -> checked ModelConfig with every shape inferred.
//
//   qg::config::ModelConfig config = qg::config::load_config("configs/mnist_cnn.json");
//   config.layers[0].output_shape;  // [40, 26, 26]
//
// Every problem throws ConfigError (config/config_error.h) naming the file, the JSON pointer and what
// was expected versus found. The schema is documented in docs/config.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/config_error.h"
#include "config/model_config.h"

namespace qg::config {

/// Reads and checks the config file at `path`; errors are prefixed with `path`.
ModelConfig load_config(const std::string& path);

/// Checks a config given as JSON text (with the syntax, nesting-depth and duplicate-key checks of
/// config/json_text.h); errors are prefixed with `source_name`.
ModelConfig parse_config_text(const std::string& text, const std::string& source_name);

/// Checks a config given as a JSON document; errors are prefixed with `source_name`.
ModelConfig parse_config(const nlohmann::json& document, const std::string& source_name);

/// Runs every check and the shape inference again on a config whose fields were changed in code
/// (e.g. command-line overrides): config_to_json, then parse_config with config.source. The inferred
/// fields are inferred afresh, so changing a layer's out_channels carries through to the next layer.
ModelConfig revalidate(const ModelConfig& config);

}  // namespace qg::config
