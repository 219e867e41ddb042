#include "nn/layers/sequential.h"

namespace qg::nn {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> layers) {
  for (auto& layer : layers)
    add(layer);
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& layer : layers_)
    x = layer->forward(x);
  return x;
}

}  // namespace qg::nn
