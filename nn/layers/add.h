#pragma once

#include <span>

#include "nn/module.h"

namespace qg::nn {

/// Add: the residual connection's sum of exactly two inputs of the same shape, y = a + b (PyTorch's
/// `a + b` / torch.add, here without broadcasting); each input's gradient is the output's. It runs on two
/// inputs through forward_inputs({a, b}) (as a graph calls it). Throws std::invalid_argument for another
/// number of inputs, for inputs of different shapes (naming both), and from forward(x), which has one.
class Add : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  Tensor forward_inputs(std::span<const Tensor> inputs) override;
  std::string type_name() const override { return "Add"; }
};

}  // namespace qg::nn
