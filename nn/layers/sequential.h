#pragma once

#include <memory>
#include <vector>

#include "nn/layers/graph.h"

namespace qg::nn {

/// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential. A Graph that is
/// always a chain: its add() appends a layer reading the previous one (Graph's add with inputs is hidden), so
/// everything that takes a Graph (prepare_qat, the training loop) takes a Sequential.
class Sequential : public Graph {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> layers);
  /// Appends a layer and returns it (typed), e.g. `auto conv = seq.add(std::make_shared<Conv2d>(...))`.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> layer) {
    return Graph::add(std::move(layer));
  }
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace qg::nn
