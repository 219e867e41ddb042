#include "nn/layers/concat.h"

#include <stdexcept>
#include <string>

#include "autograd/ops.h"

namespace qg::nn {

Tensor Concat::forward(const Tensor&) {
  throw std::invalid_argument(describe() + " takes two or more inputs, not one: call forward_inputs");
}

Tensor Concat::forward_inputs(std::span<const Tensor> inputs) {
  if (inputs.size() < 2) {
    throw std::invalid_argument(describe() + " takes two or more inputs, not " +
                                std::to_string(inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dim() != 4 && inputs[i].dim() != 2) {
      throw std::invalid_argument(describe() + ": expected [N,C,H,W] or [N,F] inputs, input " +
                                  std::to_string(i) + " is " + to_string(inputs[i].shape()));
    }
  }
  return cat(inputs, 1);
}

}  // namespace qg::nn
