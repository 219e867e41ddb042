#pragma once

#include "nn/functional/activation.h"
#include "nn/module.h"

namespace qg::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override { return functional::relu(input); }
  std::string type_name() const override { return "ReLU"; }
};

}  // namespace qg::nn
