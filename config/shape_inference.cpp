#include "config/shape_inference.h"

#include <cassert>

#include "config/layer_kind.h"
#include "util/json_pointer.h"

namespace qg::config {

void infer_shapes(ModelConfig& config) {
  if (config.layers.empty()) throw ConfigError(config.source, "/layers", "the model has no layers");
  Shape shape = config.input_shape;
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    LayerSpec& layer = config.layers[i];
    assert(layer.stride > 0 && layer.padding >= 0 && layer.dilation > 0 && layer.groups > 0 &&
           "unchecked LayerSpec");
    const LayerSite site{config.source, util::json_pointer_append("/layers", i), layer.kind->name};
    layer.input_shape = shape;
    layer.parameter_count = 0;
    layer.buffer_count = 0;
    layer.output_shape = layer.kind->infer(layer, std::span(&shape, 1), site);
    site.checked_numel(layer.output_shape, "output");
    shape = layer.output_shape;
  }
  if (shape.size() != 1) {
    const std::size_t last = config.layers.size() - 1;
    throw ConfigError(config.source, "/layers",
                      "the model must output [N, classes] but its last layer (" + std::to_string(last) +
                          ", " + config.layers[last].kind->name + ") outputs " + batch_shape_string(shape) +
                          "; end the model with flatten and linear");
  }
}

}  // namespace qg::config
