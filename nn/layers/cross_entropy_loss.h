#pragma once

#include <cstdint>
#include <vector>

#include "nn/functional/loss.h"

namespace qg::nn {

/// torch.nn.CrossEntropyLoss: logits [N, C] and class indices -> the mean (or sum) of -log_softmax(x)[n, t_n].
/// A loss holds no parameters, so it is a plain callable rather than a Module.
class CrossEntropyLoss {
 public:
  explicit CrossEntropyLoss(functional::Reduction reduction = functional::Reduction::Mean)
      : reduction_(reduction) {}
  Tensor operator()(const Tensor& logits, const std::vector<int64_t>& targets) const {
    return functional::cross_entropy(logits, targets, reduction_);
  }

 private:
  functional::Reduction reduction_;
};

}  // namespace qg::nn
