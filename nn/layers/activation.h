#pragma once

#include "nn/functional/activation.h"
#include "nn/module.h"

namespace qg::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override { return functional::relu(input); }
  std::string type_name() const override { return "ReLU"; }
};

/// ReLU6 (PyTorch's nn.ReLU6): min(max(x, 0), 6) element-wise, any shape; the gradient is 1 strictly inside
/// (0, 6) and 0 elsewhere, NaN passing through (functional::relu6).
class ReLU6 : public Module {
 public:
  Tensor forward(const Tensor& input) override { return functional::relu6(input); }
  std::string type_name() const override { return "ReLU6"; }
};

}  // namespace qg::nn
