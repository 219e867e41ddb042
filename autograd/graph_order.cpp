#include "autograd/graph_order.h"

#include <cassert>
#include <unordered_set>
#include <utility>

namespace qg {

std::vector<Node*> forward_order(Node* root) {
  assert(root != nullptr);
  // Post-order of the depth-first search over inputs: a node is emitted once all its inputs are.
  std::vector<Node*> order;
  std::unordered_set<Node*> visited{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      Node* child = node->inputs[next_input++].node.get();
      if (child && visited.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace qg
