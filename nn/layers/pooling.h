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

}  // namespace qg::nn
