// Module: the base of every layer and model, after torch.nn.Module.
//
// A module owns named parameters (tensors with requires_grad, updated by optimizers), named buffers
// (state that is saved but not trained, like BatchNorm's running statistics) and named child modules.
// Names are dotted paths, "features.0.weight", as in a PyTorch state_dict. Subclasses register their
// tensors in the constructor and keep handles to them in members: a Tensor is a handle, so the member
// and the registry alias the same data, and loading a checkpoint (which copies values in place) updates
// both.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace qg::nn {

/// Ordered name -> tensor pairs (parameters then buffers, depth first): a model's state.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& input) = 0;
  Tensor operator()(const Tensor& input) { return forward(input); }
  /// Runs the module on the outputs of the layers it reads in a graph (nn::Graph; PyTorch's
  /// `forward(*args)`). Layers with several inputs (Add, Concat) override it; the default takes exactly one
  /// input and calls forward(). Throws std::invalid_argument for another number of inputs.
  virtual Tensor forward_inputs(std::span<const Tensor> inputs);

  /// Type name, e.g. "Conv2d".
  virtual std::string type_name() const = 0;
  /// One-line description with the constructor arguments, e.g. "Conv2d(1, 40, kernel_size=3)".
  virtual std::string describe() const { return type_name() + "()"; }

  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  /// Parameters and buffers: everything a checkpoint stores.
  NamedTensors state() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  /// Switches this module and all children between training and evaluation behaviour.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Drops the gradients of all parameters.
  void zero_grad();
  /// Total number of parameter elements.
  int64_t parameter_count() const;

 protected:
  /// Registers `tensor` as a trainable parameter (sets requires_grad) and returns it.
  Tensor register_parameter(const std::string& name, Tensor tensor);
  /// Registers non-trainable state that is saved with the model.
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void collect(const std::string& prefix, bool parameters, bool buffers, NamedTensors& out) const;

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace qg::nn
