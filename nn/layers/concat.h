#pragma once

#include <span>

#include "nn/module.h"

namespace qg::nn {

/// Concat: two or more inputs joined along the channel axis (dim 1), PyTorch's torch.cat(xs, dim=1):
/// [N, C_0, H, W], [N, C_1, H, W], ... -> [N, C_0 + C_1 + ..., H, W], or [N, F_0], [N, F_1], ... ->
/// [N, F_0 + F_1 + ...]. Each input's gradient is its slice of the output's (qg::cat). It runs on its inputs
/// through forward_inputs (as a graph calls it). Throws std::invalid_argument for fewer than two inputs, an
/// input that is not 4-D or 2-D, inputs that differ outside dim 1 (naming the shapes), and from forward(x).
class Concat : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  Tensor forward_inputs(std::span<const Tensor> inputs) override;
  std::string type_name() const override { return "Concat"; }
  std::string describe() const override { return "Concat(dim=1)"; }
};

}  // namespace qg::nn
