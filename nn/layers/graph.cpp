#include "nn/layers/graph.h"

#include "nn/layers/activation.h"
#include "nn/layers/batch_norm2d.h"
#include "nn/layers/conv2d.h"
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

// Whether value v (0: the graph input, i + 1: layer i's output) has layer `reader` as its only reader.
bool only_reader(size_t reader, size_t value, const std::vector<std::vector<int64_t>>& inputs,
                 const std::vector<size_t>& last_reader) {
  return inputs[reader] == std::vector<int64_t>{static_cast<int64_t>(value) - 1} &&
         last_reader[value] == reader;
}

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
  if (i + 1 >= count || inputs[i].size() != 1 || !only_reader(i + 1, i + 1, inputs, last_reader))
    return false;
  return dynamic_cast<const ReLU*>(&layer(i)) != nullptr &&
         dynamic_cast<const MaxPool2d*>(&layer(i + 1)) != nullptr;
}

// A layer with a fused max-pool forward (forward_max_pool2d): a float Conv2d or BatchNorm2d.
bool pools_in_place(const Module& layer) {
  return dynamic_cast<const Conv2d*>(&layer) != nullptr ||
         dynamic_cast<const BatchNorm2d*>(&layer) != nullptr;
}

Tensor forward_max_pool2d(Module& producer, const Tensor& input, const functional::Pool2dOptions& pool) {
  if (auto* conv = dynamic_cast<Conv2d*>(&producer)) return conv->forward_max_pool2d(input, pool);
  return dynamic_cast<BatchNorm2d&>(producer).forward_max_pool2d(input, pool);
}

// How many layers from layer i on run as one step, and how:
//   Single              layer i alone;
//   PoolThenRelu        layers i, i + 1 = ReLU, MaxPool2d, the pool first (pool_before_relu);
//   PoolInPlace         layers i, i + 1 = Conv2d or BatchNorm2d, then a MaxPool2d reading only it: one
//                       conv2d_max_pool2d or batch_norm_max_pool2d, which never stores layer i's full-size
//                       output (nn/functional/conv2d_max_pool2d.h, batch_norm_max_pool2d.h);
//   PoolInPlaceThenRelu layers i, i + 1, i + 2 = Conv2d or BatchNorm2d, ReLU, MaxPool2d, each reading only
//                       the one before: relu(conv2d_max_pool2d(x)) or relu(batch_norm_max_pool2d(x)), the
//                       two steps above combined.
// Only the float layers nn::Conv2d, nn::BatchNorm2d, nn::ReLU and nn::MaxPool2d: QAT layers observe what
// they produce.
enum class Step { Single, PoolThenRelu, PoolInPlace, PoolInPlaceThenRelu };

Step plan_step(size_t i, size_t count, const std::function<Module&(size_t)>& layer,
               const std::vector<std::vector<int64_t>>& inputs, const std::vector<size_t>& last_reader) {
  if (pool_before_relu(i, count, layer, inputs, last_reader)) return Step::PoolThenRelu;
  if (i + 1 >= count || inputs[i].size() != 1 || !pools_in_place(layer(i)) ||
      !only_reader(i + 1, i + 1, inputs, last_reader))
    return Step::Single;
  if (dynamic_cast<const MaxPool2d*>(&layer(i + 1)) != nullptr) return Step::PoolInPlace;
  return pool_before_relu(i + 1, count, layer, inputs, last_reader) ? Step::PoolInPlaceThenRelu
                                                                    : Step::Single;
}

// The layers a step runs.
size_t step_layers(Step step) {
  switch (step) {
    case Step::Single:
      return 1;
    case Step::PoolThenRelu:
    case Step::PoolInPlace:
      return 2;
    case Step::PoolInPlaceThenRelu:
      return 3;
  }
  return 1;
}

const functional::Pool2dOptions& pool_options(Module& layer) {
  return dynamic_cast<const MaxPool2d&>(layer).options;
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
  for (size_t i = 0; i < count;) {
    args.clear();
    for (const int64_t in : inputs[i])
      args.push_back(values[static_cast<size_t>(in + 1)]);
    // A step of several layers stores only its last layer's output: each earlier layer's only reader was the
    // next one, so no other layer needs what they would have produced.
    const Step step = plan_step(i, count, layer, inputs, last_reader);
    const size_t last = i + step_layers(step) - 1;
    switch (step) {
      case Step::Single:
        values[i + 1] = args.size() == 1 ? layer(i).forward(args.front()) : layer(i).forward_inputs(args);
        break;
      case Step::PoolThenRelu:
        values[last + 1] = layer(i).forward(layer(i + 1).forward(args.front()));
        break;
      case Step::PoolInPlace:
        values[last + 1] = forward_max_pool2d(layer(i), args.front(), pool_options(layer(i + 1)));
        break;
      case Step::PoolInPlaceThenRelu:
        values[last + 1] =
            layer(i + 1).forward(forward_max_pool2d(layer(i), args.front(), pool_options(layer(i + 2))));
        break;
    }
    for (const int64_t in : inputs[i]) {
      if (last_reader[static_cast<size_t>(in + 1)] == i) values[static_cast<size_t>(in + 1)] = Tensor();
    }
    i = last + 1;
  }
  return values.back();
}

Tensor Graph::forward(const Tensor& input) {
  return run_graph(
      layers_.size(), [&](size_t i) -> Module& { return *layers_[i]; }, inputs_, input);
}

}  // namespace qg::nn
