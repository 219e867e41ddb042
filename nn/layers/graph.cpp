#include "nn/layers/graph.h"

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
    values[i + 1] = args.size() == 1 ? layer(i).forward(args.front()) : layer(i).forward_inputs(args);
    for (const int64_t in : inputs[i]) {
      if (last_reader[static_cast<size_t>(in + 1)] == i) values[static_cast<size_t>(in + 1)] = Tensor();
    }
  }
  return values.back();
}

Tensor Graph::forward(const Tensor& input) {
  return run_graph(
      layers_.size(), [&](size_t i) -> Module& { return *layers_[i]; }, inputs_, input);
}

}  // namespace qg::nn
