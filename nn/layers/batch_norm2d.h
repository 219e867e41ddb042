#pragma once

#include "nn/functional/batch_norm.h"
#include "nn/functional/pooling.h"
#include "nn/module.h"

namespace qg::nn {

/// BatchNorm2d(num_features, eps, momentum): learnable weight (gamma, init 1) and bias (beta, init 0);
/// buffers running_mean (0), running_var (1) and num_batches_tracked.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, float eps = 1e-5f, float momentum = 0.1f);
  Tensor forward(const Tensor& input) override;
  /// max_pool2d(forward(input), pool) as one op (functional::batch_norm_max_pool2d): the same values,
  /// gradients and running statistics without storing this layer's full-size output. nn::run_graph calls
  /// it when a MaxPool2d is this layer's only reader.
  Tensor forward_max_pool2d(const Tensor& input, const functional::Pool2dOptions& pool);
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string describe() const override;

  const int64_t num_features;
  const float eps, momentum;
  Tensor weight, bias;
  Tensor running_mean, running_var, num_batches_tracked;
};

}  // namespace qg::nn
