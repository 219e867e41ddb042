#pragma once

#include "nn/functional/conv2d.h"
#include "nn/functional/pooling.h"
#include "nn/module.h"

namespace qg::nn {

/// Conv2d(in_channels, out_channels, kernel_size, {stride, padding, dilation, groups}, bias).
/// weight [out, in/groups, k, k], bias [out].
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
         functional::Conv2dOptions options = {}, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& input) override;
  /// max_pool2d(forward(input), pool) as one op (functional::conv2d_max_pool2d): the same values and
  /// gradients without storing this layer's full-size output. nn::run_graph calls it when a MaxPool2d is
  /// this layer's only reader.
  Tensor forward_max_pool2d(const Tensor& input, const functional::Pool2dOptions& pool);
  std::string type_name() const override { return "Conv2d"; }
  std::string describe() const override;

  const int64_t in_channels, out_channels, kernel_size;
  const functional::Conv2dOptions options;
  Tensor weight;
  Tensor bias;  // undefined when constructed with bias=false
};

}  // namespace qg::nn
