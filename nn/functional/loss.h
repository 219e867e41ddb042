// Classification losses.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace qg::nn::functional {

enum class Reduction { Mean, Sum };

/// log(softmax(x)) along `axis`, computed stably as x - max - log(sum(exp(x - max))).
Tensor log_softmax(const Tensor& input, int64_t axis = 1);

/// Cross-entropy of logits [N, C] against class indices (each in [0, C)): -log_softmax(x)[n, t_n],
/// averaged (Mean) or summed over the batch. One fused Function: its gradient is softmax - onehot (/ N).
/// A target outside [0, C) throws, naming its index and value.
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets,
                     Reduction reduction = Reduction::Mean);

}  // namespace qg::nn::functional
