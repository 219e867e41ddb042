// A torchsummary-style table of a model config, computed from the inferred shapes (no forward pass):
//
//   ----------------------------------------------------------------
//           Layer (type)               Output Shape         Param #
//   ================================================================
//               Conv2d-0           [-1, 40, 26, 26]             400
//                 ReLU-1           [-1, 40, 26, 26]               0
//   ...
//   ================================================================
//   Total params: 11,170
//   ...
//
// Differences from torchsummary: the layer index counts from 0, as the Sequential's child names and so
// the parameter names ("0.weight") do; buffers (BatchNorm's running statistics) get their own line and
// are included in the params size.
#pragma once

#include <string>

#include "config/model_config.h"

namespace qg::config {

/// The table for a config from load_config / parse_config / revalidate, ending in a newline.
std::string summary(const ModelConfig& config);

/// 11170 -> "11,170".
std::string with_thousands_separators(int64_t n);

}  // namespace qg::config
