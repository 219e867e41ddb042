#include "nn/optim/optimizer.h"

namespace qg::nn {

Optimizer::Optimizer(std::vector<Tensor> parameters) : parameters_(std::move(parameters)) {}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_) p.zero_grad();
}

}  // namespace qg::nn
