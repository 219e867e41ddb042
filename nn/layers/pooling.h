#pragma once

#include "nn/functional/pooling.h"
#include "nn/module.h"

namespace qg::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(functional::Pool2dOptions options) : options(options) {}
  Tensor forward(const Tensor& input) override { return functional::max_pool2d(input, options); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string describe() const override;
  const functional::Pool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(functional::Pool2dOptions options) : options(options) {}
  Tensor forward(const Tensor& input) override { return functional::avg_pool2d(input, options); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string describe() const override;
  const functional::Pool2dOptions options;
};

/// GlobalAvgPool2d (PyTorch's nn.AdaptiveAvgPool2d(1)): [N, C, H, W] -> [N, C, 1, 1], the mean of each
/// (n, c) plane; the gradient spreads dy / (H*W) over the plane. Throws std::invalid_argument for a non-4-D
/// input or an empty plane (functional::global_avg_pool2d).
class GlobalAvgPool2d : public Module {
 public:
  Tensor forward(const Tensor& input) override { return functional::global_avg_pool2d(input); }
  std::string type_name() const override { return "GlobalAvgPool2d"; }
};

}  // namespace qg::nn
