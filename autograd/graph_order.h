// The order in which the recorded graph is walked: by the engine's backward pass (autograd/engine.cpp) and by
// the DOT dump (autograd/dot.h).
#pragma once

#include <vector>

#include "autograd/node.h"

namespace qg {

/// The nodes reachable from `root` (root included) in forward order: every node comes after all the nodes that
/// made its inputs, so `root` comes last. Reversed, it is the order of the backward pass: a node's gradient is
/// complete before it is propagated. Iterative depth-first search (a deep graph must not overflow the stack);
/// deterministic for a given graph. `root` must not be null.
std::vector<Node*> forward_order(Node* root);

}  // namespace qg
