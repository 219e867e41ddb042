#include "autograd/engine.h"

#include <stdexcept>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/graph_order.h"
#include "autograd/node.h"
#include "core/kernels/elementwise.h"

namespace qg {

namespace {

// Reverse topological order: a node comes after everything it feeds into, so the root comes first and a
// node's gradient is complete before it is propagated.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order = forward_order(root);
  return {order.rbegin(), order.rend()};
}

// A gradient that nothing else can see (its handle and its storage have no other owner) and that is laid
// out contiguously can become the leaf's .grad as it is, instead of being copied.
bool is_private(const Tensor& grad) {
  return grad.impl_ptr().use_count() == 1 && grad.impl().storage.use_count() == 1 && grad.offset() == 0 &&
         grad.is_contiguous() && grad.impl().storage->size() == static_cast<size_t>(grad.numel()) &&
         !grad.requires_grad();
}

void accumulate_into_leaf(TensorImpl& leaf, Tensor grad) {
  if (!leaf.grad) {
    // A private copy: `grad` may alias other tensors (unless nothing else holds it, when it is moved in).
    leaf.grad = is_private(grad) ? grad.impl_ptr() : grad.clone().impl_ptr();
  } else {
    Tensor existing(leaf.grad);
    kernel::axpy(existing, grad);
  }
}

void check_gradients(const Node& node, const std::vector<Tensor>& grads) {
  if (grads.size() != node.inputs.size()) {
    throw std::logic_error(std::string(node.name()) + ".backward returned " + std::to_string(grads.size()) +
                           " gradients for " + std::to_string(node.inputs.size()) + " tensor inputs");
  }
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].defined() && node.inputs[i].is_connected() && grads[i].shape() != node.input_shapes[i]) {
      throw std::logic_error(std::string(node.name()) + ".backward returned a gradient of shape " +
                             to_string(grads[i].shape()) + " for input " + std::to_string(i) + " of shape " +
                             to_string(node.input_shapes[i]));
    }
  }
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_output) {
  if (!root.requires_grad()) {
    throw std::logic_error("backward: tensor does not require grad and has no grad_fn");
  }
  if (grad_output.shape() != root.shape()) {
    throw std::invalid_argument("backward: gradient shape " + to_string(grad_output.shape()) +
                                " differs from tensor shape " + to_string(root.shape()));
  }
  NoGradGuard no_grad;  // gradient math is not itself recorded (no double backward)
  if (root.is_leaf()) {
    accumulate_into_leaf(root.impl(), grad_output);
    return;
  }

  std::unordered_map<Node*, Tensor> pending;  // summed dLoss/dOutput of each node not yet run
  pending[root.grad_fn().get()] = grad_output;
  for (Node* node : topological_order(root.grad_fn().get())) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient reached this node
    const Tensor grad = std::move(it->second);
    pending.erase(it);

    std::vector<Tensor> input_grads = node->backward(grad);
    check_gradients(*node, input_grads);
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const Edge& edge = node->inputs[i];
      if (!input_grads[i].defined() || !edge.is_connected()) continue;
      if (edge.leaf) {
        accumulate_into_leaf(*edge.leaf, std::move(input_grads[i]));
        continue;
      }
      auto [slot, inserted] = pending.try_emplace(edge.node.get(), input_grads[i]);
      if (!inserted) slot->second = kernel::add(slot->second, input_grads[i]);
    }
  }
}

void Tensor::backward() const {
  if (numel() != 1) {
    throw std::invalid_argument("backward: called on a tensor of shape " + to_string(shape()) +
                                "; pass an explicit gradient for non-scalar outputs");
  }
  run_backward(*this, Tensor::ones(shape()));
}

void Tensor::backward(const Tensor& grad_output) const {
  run_backward(*this, grad_output);
}

}  // namespace qg
