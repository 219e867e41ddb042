#include "config/model_config.h"

namespace qg::config {

const Shape& ModelConfig::output_shape() const {
  return layers.empty() ? input_shape : layers.back().output_shape;
}

bool ModelConfig::is_chain() const {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const int64_t previous = static_cast<int64_t>(i) - 1;  // kModelInput for the first layer
    if (layers[i].input_layers != std::vector<int64_t>{previous}) return false;
  }
  return true;
}

int64_t ModelConfig::parameter_count() const {
  int64_t total = 0;
  for (const LayerSpec& layer : layers)
    total += layer.parameter_count;
  return total;
}

int64_t ModelConfig::buffer_count() const {
  int64_t total = 0;
  for (const LayerSpec& layer : layers)
    total += layer.buffer_count;
  return total;
}

}  // namespace qg::config
