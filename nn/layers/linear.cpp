#include "nn/layers/linear.h"

#include <stdexcept>

#include "nn/functional/linear.h"
#include "nn/init.h"

namespace qg::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, Generator& gen) : in_features(in), out_features(out) {
  if (in <= 0 || out <= 0)
    throw std::invalid_argument("Linear: features must be positive (got " + describe() + ")");
  weight = register_parameter("weight", init::kaiming_uniform_default({out, in}, in, gen));
  if (with_bias) bias = register_parameter("bias", init::bias_uniform({out}, in, gen));
}

Tensor Linear::forward(const Tensor& input) {
  return functional::linear(input, weight, bias);
}

std::string Linear::describe() const {
  return "Linear(in_features=" + std::to_string(in_features) +
         ", out_features=" + std::to_string(out_features) + (bias.defined() ? "" : ", bias=False") + ")";
}

}  // namespace qg::nn
