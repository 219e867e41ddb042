#include "autograd/dot.h"

#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "autograd/graph_order.h"
#include "autograd/node.h"

namespace qg {

namespace {

// A DOT string literal's contents: quotes and backslashes escaped.
std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

class DotWriter {
 public:
  explicit DotWriter(const DotNames& names) {
    for (const auto& [name, tensor] : names) {
      if (tensor.defined()) names_.emplace(tensor.impl_ptr().get(), name);
    }
  }

  std::string write(const Tensor& root) {
    if (!root.grad_fn()) {
      declare_tensor(root.impl_ptr().get(), root.shape(), root.requires_grad());
    } else {
      Node* root_node = root.grad_fn().get();
      output_shapes_[root_node] = root.shape();
      const std::vector<Node*> order = forward_order(root_node);
      for (Node* node : order)
        record_output_shapes(*node);
      for (Node* node : order)
        declare_op(*node, node == root_node);
    }
    std::ostringstream out;
    out << "digraph autograd {\n  node [fontname=\"monospace\", fontsize=10];\n";
    for (const std::string& line : declarations_)
      out << "  " << line << ";\n";
    for (const std::string& line : edges_)
      out << "  " << line << ";\n";
    out << "}\n";
    return out.str();
  }

 private:
  // A node does not keep its output, but each reader keeps the shape of what it read.
  void record_output_shapes(const Node& node) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].node) output_shapes_.emplace(node.inputs[i].node.get(), node.input_shapes[i]);
    }
  }

  // The op's inputs that are not ops get their ids first, then the op.
  void declare_op(const Node& node, bool is_root) {
    std::vector<std::string> sources;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const Edge& edge = node.inputs[i];
      if (edge.node) {
        sources.push_back(op_ids_.at(edge.node.get()));
      } else if (edge.leaf) {
        sources.push_back(declare_tensor(edge.leaf.get(), edge.leaf->shape, true));
      } else if (i < node.input_defined.size() && node.input_defined[i]) {
        sources.push_back(declare_constant(node.input_shapes[i]));
      }
    }
    const std::string id = "op" + std::to_string(next_id_++);
    op_ids_.emplace(&node, id);
    declarations_.push_back(id + " [label=\"" + escaped(node.name()) + "\\n" +
                            to_string(output_shapes_.at(&node)) + "\", shape=ellipse" +
                            (is_root ? ", style=bold" : "") + "]");
    for (const std::string& source : sources)
      edges_.push_back(source + " -> " + id);
  }

  // A leaf tensor: one box however many ops read it.
  std::string declare_tensor(const TensorImpl* impl, const Shape& shape, bool requires_grad) {
    if (auto found = tensor_ids_.find(impl); found != tensor_ids_.end()) return found->second;
    const std::string id = (requires_grad ? "leaf" : "const") + std::to_string(next_id_++);
    tensor_ids_.emplace(impl, id);
    std::string label;
    if (auto name = names_.find(impl); name != names_.end()) label = escaped(name->second) + "\\n";
    label += to_string(shape) + (requires_grad ? "\\nrequires_grad" : "\\nno grad");
    declarations_.push_back(
        id + " [label=\"" + label + "\", shape=box, " +
        (requires_grad ? "style=filled, fillcolor=lightblue]" : "style=dashed, color=gray]"));
    return id;
  }

  // An input that does not require grad: the node kept only its shape.
  std::string declare_constant(const Shape& shape) {
    const std::string id = "const" + std::to_string(next_id_++);
    declarations_.push_back(id + " [label=\"" + to_string(shape) +
                            "\\nno grad\", shape=box, style=dashed, color=gray]");
    return id;
  }

  std::unordered_map<const TensorImpl*, std::string> names_;
  std::unordered_map<const TensorImpl*, std::string> tensor_ids_;
  std::unordered_map<const Node*, std::string> op_ids_;
  std::unordered_map<const Node*, Shape> output_shapes_;
  std::vector<std::string> declarations_;
  std::vector<std::string> edges_;
  int next_id_ = 0;
};

}  // namespace

std::string to_dot(const Tensor& root, const DotNames& names) {
  if (!root.defined()) throw std::invalid_argument("to_dot: the root tensor is undefined");
  return DotWriter(names).write(root);
}

}  // namespace qg
