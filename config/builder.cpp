#include "config/builder.h"

#include <stdexcept>

#include "nn/layers/activation.h"
#include "nn/layers/batch_norm2d.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/flatten.h"
#include "nn/layers/linear.h"
#include "nn/layers/pooling.h"

namespace qg::config {

std::shared_ptr<nn::Module> build_layer(const LayerSpec& layer, Generator& gen) {
  const nn::functional::Pool2dOptions pool{layer.kernel_size, layer.stride, layer.padding};
  switch (layer.type) {
    case LayerType::kConv2d:
      return std::make_shared<nn::Conv2d>(
          layer.in_channels, layer.out_channels, layer.kernel_size,
          nn::functional::Conv2dOptions{layer.stride, layer.padding, layer.dilation, layer.groups},
          layer.bias, gen);
    case LayerType::kMaxPool2d:
      return std::make_shared<nn::MaxPool2d>(pool);
    case LayerType::kAvgPool2d:
      return std::make_shared<nn::AvgPool2d>(pool);
    case LayerType::kReLU:
      return std::make_shared<nn::ReLU>();
    case LayerType::kBatchNorm2d:
      return std::make_shared<nn::BatchNorm2d>(layer.num_features, static_cast<float>(layer.eps),
                                               static_cast<float>(layer.momentum));
    case LayerType::kLinear:
      return std::make_shared<nn::Linear>(layer.in_features, layer.out_features, layer.bias, gen);
    case LayerType::kFlatten:
      return std::make_shared<nn::Flatten>();
  }
  throw std::logic_error("build_layer: unhandled layer type");
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
