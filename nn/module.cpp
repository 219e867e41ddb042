#include "nn/module.h"

#include <stdexcept>
#include <string>

namespace qg::nn {

Tensor Module::forward_inputs(std::span<const Tensor> inputs) {
  if (inputs.size() != 1) {
    throw std::invalid_argument(describe() + " takes one input, not " + std::to_string(inputs.size()));
  }
  return forward(inputs.front());
}

void Module::collect(const std::string& prefix, bool parameters, bool buffers, NamedTensors& out) const {
  if (parameters) {
    for (const auto& [name, t] : parameters_)
      out.emplace_back(prefix + name, t);
  }
  if (buffers) {
    for (const auto& [name, t] : buffers_)
      out.emplace_back(prefix + name, t);
  }
  for (const auto& [name, child] : children_)
    child->collect(prefix + name + ".", parameters, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

NamedTensors Module::state() const {
  NamedTensors out = named_parameters();
  for (auto& entry : named_buffers())
    out.push_back(std::move(entry));
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters())
    out.push_back(t);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_)
    child->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters())
    p.zero_grad();
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    n += p.numel();
  return n;
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor) {
  if (!tensor.defined()) throw std::invalid_argument(type_name() + ": parameter '" + name + "' is undefined");
  tensor.set_requires_grad(true);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  buffers_.emplace_back(name, tensor);
  return tensor;
}

}  // namespace qg::nn
