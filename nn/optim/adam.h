// Adam (Kingma & Ba, 2015), PyTorch's form with L2 weight decay added to the gradient:
//   g = grad + weight_decay * p
//   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
//   p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
#pragma once

#include "nn/optim/optimizer.h"

namespace qg::nn {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> parameters, AdamOptions options);
  /// Parameter groups; a group without its own weight decay uses options.weight_decay.
  Adam(const std::vector<ParamGroup>& groups, AdamOptions options);
  void step() override;
  NamedTensors state() const override;

 private:
  void init();

  AdamOptions options_;
  std::vector<Tensor> m_, v_;
  Tensor step_count_;  // [1], a tensor so that it is saved with the rest of the state
};

}  // namespace qg::nn
