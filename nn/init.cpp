#include "nn/init.h"

#include <cmath>

namespace qg::nn::init {

Tensor kaiming_uniform_default(const Shape& shape, int64_t fan_in, Generator& gen) {
  const float bound = fan_in > 0 ? 1.0f / std::sqrt(static_cast<float>(fan_in)) : 0.0f;
  return Tensor::uniform(shape, -bound, bound, gen);
}

Tensor bias_uniform(const Shape& shape, int64_t fan_in, Generator& gen) {
  return kaiming_uniform_default(shape, fan_in, gen);  // same bound: 1/sqrt(fan_in)
}

}  // namespace qg::nn::init
