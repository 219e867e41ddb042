#pragma once

#include <memory>
#include <vector>

#include "nn/module.h"

namespace qg::nn {

/// Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential.
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> layers);
  /// Appends a layer and returns it (typed), e.g. `auto conv = seq.add(std::make_shared<Conv2d>(...))`.
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> layer) {
    layers_.push_back(layer);
    return register_module(std::to_string(layers_.size() - 1), layer);
  }
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sequential"; }

  size_t size() const { return layers_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return layers_.at(i); }
  const std::vector<std::shared_ptr<Module>>& layers() const { return layers_; }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace qg::nn
