// Optimizers update parameters in place from their accumulated .grad, outside the graph.
#pragma once

#include <vector>

#include "nn/module.h"

namespace qg::nn {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> parameters);
  virtual ~Optimizer() = default;

  /// One update from the current gradients. Parameters without a gradient are skipped.
  virtual void step() = 0;
  void zero_grad();

  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr) { lr_ = lr; }

  /// Internal state (momentum buffers, moments, step count) by name, for exact resume from a checkpoint.
  virtual NamedTensors state() const = 0;

 protected:
  std::vector<Tensor> parameters_;
  double lr_ = 0.01;
};

}  // namespace qg::nn
