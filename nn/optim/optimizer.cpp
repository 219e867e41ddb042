#include "nn/optim/optimizer.h"

#include <stdexcept>

namespace qg::nn {

Optimizer::Optimizer(std::vector<Tensor> parameters)
    : parameters_(std::move(parameters)), group_decay_(parameters_.size()) {}

Optimizer::Optimizer(const std::vector<ParamGroup>& groups) {
  for (const ParamGroup& group : groups) {
    if (group.weight_decay && !(*group.weight_decay >= 0.0)) {
      throw std::invalid_argument("optimizer: a parameter group's weight_decay must be non-negative");
    }
    for (const Tensor& p : group.params) {
      parameters_.push_back(p);
      group_decay_.push_back(group.weight_decay);
    }
  }
}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_)
    p.zero_grad();
}

}  // namespace qg::nn
