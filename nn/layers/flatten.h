#pragma once

#include "autograd/ops.h"
#include "nn/module.h"

namespace qg::nn {

/// [N, C, H, W] -> [N, C*H*W] (all axes from start_dim on are collapsed).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1) : start_dim(start_dim) {}
  Tensor forward(const Tensor& input) override { return flatten(input, start_dim); }
  std::string type_name() const override { return "Flatten"; }
  const int64_t start_dim;
};

}  // namespace qg::nn
