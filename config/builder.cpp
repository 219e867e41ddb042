#include "config/builder.h"

#include <stdexcept>

#include "config/layer_kind.h"

namespace qg::config {

std::shared_ptr<nn::Module> build_layer(const LayerSpec& layer, Generator& gen) {
  return layer.kind->build(layer, gen);
}

std::shared_ptr<nn::Sequential> build_model(const ModelConfig& config, Generator& gen) {
  auto model = std::make_shared<nn::Sequential>();
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const LayerSpec& layer = config.layers[i];
    if (layer.output_shape.empty()) {
      throw std::invalid_argument(
          "build_model: " + config.source + ": layer " + std::to_string(i) +
          " has no inferred shape; build from load_config, parse_config or revalidate");
    }
    model->add(build_layer(layer, gen));
  }
  return model;
}

}  // namespace qg::config
