#include "nn/layers/graph.h"

#include "nn/layers/activation.h"
#include "nn/layers/pooling.h"

#include <stdexcept>
#include <string>

namespace qg::nn {

void check_graph_inputs(const char* who, int64_t next, const std::vector<int64_t>& inputs) {
  if (inputs.empty())
    throw std::invalid_argument(std::string(who) + ": a layer must read at least one input");
  for (const int64_t input : inputs) {
    if (input < Graph::kGraphInput || input >= next) {
      throw std::invalid_argument(std::string(who) + ": layer " + std::to_string(next) + " cannot read " +
                                  std::to_string(input) + " (expected an earlier layer, 0.." +
                                  std::to_string(next - 1) + ", or kGraphInput)");
    }
  }
}

bool Graph::is_chain() const {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (inputs_[i] != std::vector<int64_t>{static_cast<int64_t>(i) - 1}) return false;
  }
  return true;
}

namespace {

// Whether layers i (a ReLU) and i + 1 (a max pool reading only it, its only reader) may run in the other
// order: max_pool(relu(x)) = relu(max_pool(x)) exactly, because ReLU never decreases (a window's largest
// value stays its largest, first among equals; a NaN, which both keep, wins both ways), and the gradient is
// the same too: the pool sends a window's gradient to its largest input, which ReLU passes on exactly when
// the window's maximum is above 0 or NaN, i.e. when the pooled output is not 0, and relu_backward on the
// pooled output makes that choice. Pooling first reads the input once and applies ReLU to a quarter of it
// (for 2x2 windows): the unfused pair streams the full-size activation and its gradient twice more.
// Only nn::ReLU and nn::MaxPool2d: QAT layers (quant/) observe the ReLU's output and keep their order.
bool pool_before_relu(size_t i, size_t count, const std::function<Module&(size_t)>& layer,
                      const std::vector<std::vector<int64_t>>& inputs,
                      const std::vector<size_t>& last_reader) {
  if (i + 1 >= count || inputs[i].size() != 1) return false;
  if (inputs[i + 1] != std::vector<int64_t>{static_cast<int64_t>(i)} || last_reader[i + 1] != i + 1)
    return false;
  return dynamic_cast<const ReLU*>(&layer(i)) != nullptr &&
         dynamic_cast<const MaxPool2d*>(&layer(i + 1)) != nullptr;
}

}  // namespace

Tensor run_graph(size_t count, const std::function<Module&(size_t)>& layer,
                 const std::vector<std::vector<int64_t>>& inputs, const Tensor& input) {
  if (count == 0) return input;
  // last_reader[v]: the last layer reading value v (value 0 is the graph input, value i + 1 layer i's output).
  std::vector<size_t> last_reader(count + 1, 0);
  for (size_t i = 0; i < count; ++i) {
    for (const int64_t in : inputs[i])
      last_reader[static_cast<size_t>(in + 1)] = i;
  }
  std::vector<Tensor> values(count + 1);
  values[0] = input;
  std::vector<Tensor> args;
  for (size_t i = 0; i < count; ++i) {
    args.clear();
    for (const int64_t in : inputs[i])
      args.push_back(values[static_cast<size_t>(in + 1)]);
    const bool swapped = pool_before_relu(i, count, layer, inputs, last_reader);
    if (swapped) {
      // Layer i + 1's output, pool first; layer i's output is never made (layer i + 1 was its only reader).
      values[i + 2] = layer(i).forward(layer(i + 1).forward(args.front()));
    } else {
      values[i + 1] = args.size() == 1 ? layer(i).forward(args.front()) : layer(i).forward_inputs(args);
    }
    for (const int64_t in : inputs[i]) {
      if (last_reader[static_cast<size_t>(in + 1)] == i) values[static_cast<size_t>(in + 1)] = Tensor();
    }
    if (swapped) ++i;  // layer i + 1 has run
  }
  return values.back();
}

Tensor Graph::forward(const Tensor& input) {
  return run_graph(
      layers_.size(), [&](size_t i) -> Module& { return *layers_[i]; }, inputs_, input);
}

}  // namespace qg::nn
