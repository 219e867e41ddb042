// ModelConfig -> JSON: the inverse of parse_config, for saving the exact settings of a run next to its
// checkpoint and for revalidate().
#pragma once

#include <nlohmann/json.hpp>

#include "config/model_config.h"

namespace qg::config {

/// The config in canonical form: every setting written out, defaults included; the inferred sizes
/// (in_channels, num_features, in_features) and shapes left out, since parsing infers them again.
/// parse_config(config_to_json(c), c.source) gives back c.
nlohmann::json config_to_json(const ModelConfig& config);

}  // namespace qg::config
