#include "nn/layers/sequential.h"

namespace qg::nn {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> layers) {
  for (auto& layer : layers)
    add(layer);
}

}  // namespace qg::nn
