// Stochastic gradient descent with momentum, weight decay and Nesterov, with PyTorch's update rule:
//   d = grad + weight_decay * p
//   buf = d                       (first step)
//   buf = momentum * buf + d      (later steps; dampening 0)
//   d = d + momentum * buf        (Nesterov)   or   d = buf
//   p = p - lr * d
#pragma once

#include "nn/optim/optimizer.h"

namespace qg::nn {

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<Tensor> parameters, SgdOptions options);
  /// Parameter groups; a group without its own weight decay uses options.weight_decay.
  Sgd(const std::vector<ParamGroup>& groups, SgdOptions options);
  void step() override;
  NamedTensors state() const override;

 private:
  void init();

  SgdOptions options_;
  std::vector<Tensor> momentum_buffers_;  // zero-size until the first step of each parameter
  Tensor has_buffer_;                     // [num_params]: 1 once a buffer has been initialised
};

}  // namespace qg::nn
