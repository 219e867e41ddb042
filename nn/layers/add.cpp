#include "nn/layers/add.h"

#include <stdexcept>
#include <string>

#include "autograd/ops.h"

namespace qg::nn {

Tensor Add::forward(const Tensor&) {
  throw std::invalid_argument(describe() + " takes two inputs, not one: call forward_inputs({a, b})");
}

Tensor Add::forward_inputs(std::span<const Tensor> inputs) {
  if (inputs.size() != 2) {
    throw std::invalid_argument(describe() + " takes two inputs, not " + std::to_string(inputs.size()));
  }
  const Tensor &a = inputs[0], &b = inputs[1];
  if (a.shape() != b.shape()) {
    throw std::invalid_argument(describe() + ": inputs must have the same shape (no broadcasting), got " +
                                to_string(a.shape()) + " and " + to_string(b.shape()));
  }
  return add(a, b);
}

}  // namespace qg::nn
