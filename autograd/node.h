// A node of the backward graph: one recorded call of a differentiable function.
//
// The graph points *backwards*: a tensor's grad_fn is the Node that made it, and a Node's
// `inputs` lead to the nodes (or leaf tensors) that made its inputs. A Node owns what its
// backward needs (saved inputs, indices, shapes) but never its own output, so when the last
// handle to the loss goes away the whole graph is freed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qg {

/// Where the gradient for one input of a node goes: into another node, into a leaf's .grad,
/// or nowhere (an input that does not require grad).
struct Edge {
  std::shared_ptr<Node> node;        // the input was produced by this node
  std::shared_ptr<TensorImpl> leaf;  // or: the input is a leaf that requires grad
  bool is_connected() const { return node || leaf; }
};

struct Node {
  virtual ~Node() = default;
  /// Given dLoss/dOutput, returns dLoss/dInput for each tensor input, in order (undefined = no gradient).
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  /// The op's name, for error messages and graph dumps.
  virtual const char* name() const = 0;

  std::vector<Edge> inputs;         // one per tensor argument of the forward call
  std::vector<Shape> input_shapes;  // to check the shapes backward returns
  std::vector<bool> input_defined;  // false for an undefined Tensor() argument (e.g. no bias): graph dumps
};

}  // namespace qg
