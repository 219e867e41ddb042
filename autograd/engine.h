// The reverse sweep. Given a root tensor and dLoss/dRoot, visits the recorded graph in reverse
// topological order, calling each node's backward once with the sum of all gradients that flowed
// into it, and accumulates (+=) the gradients that reach leaves into their .grad.
#pragma once

#include "core/tensor.h"

namespace qg {

/// Back-propagates `grad_output` (same shape as `root`) through the graph that produced `root`.
void run_backward(const Tensor& root, const Tensor& grad_output);

}  // namespace qg
