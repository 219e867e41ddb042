#include "config/builder.h"

#include <stdexcept>

#include "config/layer_kind.h"

namespace qg::config {

std::shared_ptr<nn::Module> build_layer(const LayerSpec& layer, Generator& gen) {
  return layer.kind->build(layer, gen);
}

std::shared_ptr<nn::Graph> build_model(const ModelConfig& config, Generator& gen) {
  auto model = std::make_shared<nn::Graph>();
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const LayerSpec& layer = config.layers[i];
    if (layer.output_shape.empty()) {
      throw std::invalid_argument(
          "build_model: " + config.source + ": layer " + std::to_string(i) +
          " has no inferred shape; build from load_config, parse_config or revalidate");
    }
    static_assert(LayerSpec::kModelInput == nn::Graph::kGraphInput);
    model->add(build_layer(layer, gen), layer.input_layers);
  }
  return model;
}

}  // namespace qg::config
