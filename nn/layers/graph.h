// Graph: a model whose layers may read the outputs of any earlier layers (a directed acyclic graph), after
// torch.fx.GraphModule. A chain is the special case where each layer reads the one before it, which is what
// nn::Sequential runs; a residual block is not:
//
//     nn::Graph g;
//     g.add(conv1);                // layer 0 reads the graph input
//     g.add(relu1);                // layer 1 reads layer 0
//     g.add(conv2);                // layer 2 reads layer 1
//     g.add(add, {2, Graph::kGraphInput});   // layer 3 reads layer 2 and the graph input: conv2(x) + x
//
// Layers are children named "0", "1", ... (as in torch.nn.Sequential), so a chain built as a Graph has the
// same parameter names, and checkpoints, as the Sequential with the same layers. The layers run in the order
// they were added, which is a topological order because a layer may only read earlier ones. Layers with
// several inputs (nn::Add, nn::Concat) get them through Module::forward_inputs, in the order given.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "nn/module.h"

namespace qg::nn {

/// Runs the `count` layers of a graph in order (`layer(i)` the i-th, reading the values `inputs[i]` names:
/// kGraphInput = -1 is `input`, j >= 0 layer j's output) and returns the last one's output (`input` when
/// count is 0). Each intermediate output is released after its last reader has run (autograd keeps what the
/// backward pass needs). Graph::forward and quant::QatModel::forward are this. A few float layer patterns
/// run as one step with the same values and gradients bit for bit (graph.cpp: plan_step): a ReLU read only
/// by a MaxPool2d runs after it, and a Conv2d or BatchNorm2d read only by a MaxPool2d (directly or through
/// such a ReLU) runs as one functional::conv2d_max_pool2d or batch_norm_max_pool2d; the skipped layers'
/// Module::forward is not called.
Tensor run_graph(size_t count, const std::function<Module&(size_t)>& layer,
                 const std::vector<std::vector<int64_t>>& inputs, const Tensor& input);

/// Checks that a layer appended as layer `next` may read `inputs`: at least one, each an earlier layer or
/// kGraphInput (-1). Throws std::invalid_argument starting with `who` ("Graph::add") otherwise.
void check_graph_inputs(const char* who, int64_t next, const std::vector<int64_t>& inputs);

class Graph : public Module {
 public:
  /// In a layer's inputs: the graph's input tensor.
  static constexpr int64_t kGraphInput = -1;

  /// Appends `layer`, which reads `inputs` (indices of layers added before it, or kGraphInput; at least
  /// one), and returns it typed. Throws std::invalid_argument for an empty list or an index that is not an
  /// earlier layer.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> layer, std::vector<int64_t> inputs) {
    check_graph_inputs("Graph::add", static_cast<int64_t>(layers_.size()), inputs);
    layers_.push_back(layer);
    inputs_.push_back(std::move(inputs));
    return register_module(std::to_string(layers_.size() - 1), layer);
  }
  /// Appends `layer` reading the previous layer (the graph input for the first): a chain link.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> layer) {
    return add(std::move(layer), {static_cast<int64_t>(layers_.size()) - 1});
  }

  /// Runs every layer in order and returns the last one's output (run_graph).
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Graph"; }

  size_t size() const { return layers_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return layers_.at(i); }
  const std::vector<std::shared_ptr<Module>>& layers() const { return layers_; }
  /// The layers layer `i` reads (indices, or kGraphInput).
  const std::vector<int64_t>& inputs(size_t i) const { return inputs_.at(i); }
  /// True when every layer reads only the one before it (the first: the graph input).
  bool is_chain() const;

 private:
  std::vector<std::shared_ptr<Module>> layers_;
  std::vector<std::vector<int64_t>> inputs_;
};

}  // namespace qg::nn
