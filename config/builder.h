// ModelConfig -> nn::Graph: one module per layer, in order, each reading the layers its config entry reads,
// so that parameter and buffer names are "0.weight", "0.bias", "1.running_mean", ... exactly as in a
// torch.nn.Sequential with the same layers (which is what lets a PyTorch state_dict load by name).
#pragma once

#include <memory>

#include "config/model_config.h"
#include "core/random.h"
#include "nn/layers/graph.h"

namespace qg::config {

/// Builds the float model of `config`, which must come from load_config / parse_config / revalidate
/// (they fill the inferred sizes). Weights are initialised as PyTorch's defaults from `gen`, layer by
/// layer in order.
std::shared_ptr<nn::Graph> build_model(const ModelConfig& config, Generator& gen);

/// The module for one layer.
std::shared_ptr<nn::Module> build_layer(const LayerSpec& layer, Generator& gen);

}  // namespace qg::config
