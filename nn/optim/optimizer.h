// Optimizers update parameters in place from their accumulated .grad, outside the graph.
#pragma once

#include <optional>
#include <vector>

#include "nn/module.h"

namespace qg::nn {

/// Parameters that share hyperparameters, as one entry of PyTorch's `param_groups`. A group without its own
/// weight decay uses the optimizer's. QAT uses a group with weight_decay 0 for the learned quantizer step
/// sizes: decaying a step size towards 0 would push every value into clipping.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> weight_decay;
};

class Optimizer {
 public:
  /// One group with the optimizer's own weight decay.
  explicit Optimizer(std::vector<Tensor> parameters);
  /// Throws std::invalid_argument when a group's weight decay is negative.
  explicit Optimizer(const std::vector<ParamGroup>& groups);
  virtual ~Optimizer() = default;

  /// One update from the current gradients. Parameters without a gradient are skipped.
  virtual void step() = 0;
  void zero_grad();

  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr) { lr_ = lr; }

  /// Internal state (momentum buffers, moments, step count) by name, for exact resume from a checkpoint.
  virtual NamedTensors state() const = 0;

 protected:
  /// The weight decay of parameter i: its group's, else `default_decay` (the optimizer's option).
  double weight_decay(size_t i, double default_decay) const {
    return group_decay_[i] ? *group_decay_[i] : default_decay;
  }

  std::vector<Tensor> parameters_;
  double lr_ = 0.01;

 private:
  std::vector<std::optional<double>> group_decay_;  // one per parameter
};

}  // namespace qg::nn
