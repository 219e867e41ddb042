// The Function API: how every differentiable operation in quantgrad is written, and how a user
// adds one of their own, exactly like torch.autograd.Function.
//
// A Function is a struct with two member functions side by side:
//
//     struct SquareFn {
//       static constexpr const char* name = "square";
//       Tensor x;                                     // state saved for backward
//       Tensor forward(const Tensor& input) {         // plain tensor math, never recorded
//         x = input;
//         return kernel::mul(input, input);
//       }
//       std::vector<Tensor> backward(const Tensor& grad) {  // d(x^2)/dx = 2x
//         return {kernel::mul(grad, kernel::mul_scalar(x, 2.0f))};
//       }
//     };
//     Tensor y = apply<SquareFn>(x);
//
// `apply` calls forward with graph recording off, then, if any tensor argument requires grad,
// records a node holding the struct so that backward can run later. Arguments may be tensors or
// anything else (ints, structs); backward returns one gradient per *tensor* argument, in order,
// and may return an undefined Tensor for an input that gets no gradient. Whatever forward stores
// in members is the "ctx.save_for_backward" of PyTorch.
//
// An op with a variable number of inputs (cat) takes them as one `std::span<const Tensor>` argument:
// every element is a tensor input of its own, in order, and backward returns one gradient per element
// (autograd/ops/cat.cpp).
#pragma once

#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace qg {

namespace detail {

template <class Fn>
struct FunctionNode final : Node {
  Fn fn;
  std::vector<Tensor> backward(const Tensor& grad_output) override { return fn.backward(grad_output); }
  const char* name() const override { return Fn::name; }
};

template <class T>
constexpr bool is_tensor_v = std::is_same_v<std::remove_cvref_t<T>, Tensor>;
template <class T>
constexpr bool is_tensor_list_v = std::is_same_v<std::remove_cvref_t<T>, std::span<const Tensor>>;

inline Edge edge_to(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return {t.grad_fn(), nullptr};
  return {nullptr, t.impl_ptr()};
}

}  // namespace detail

template <class Fn, class... Args>
Tensor apply(Args&&... args) {
  auto node = std::make_shared<detail::FunctionNode<Fn>>();
  Tensor output;
  {
    NoGradGuard no_grad;  // forward's own tensor math is not part of the graph
    output = node->fn.forward(args...);
  }
  if (!GradMode::is_enabled()) return output;

  bool any_requires_grad = false;
  auto record_tensor = [&](const Tensor& t) {
    node->inputs.push_back(detail::edge_to(t));
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
    node->input_defined.push_back(t.defined());
    any_requires_grad = any_requires_grad || node->inputs.back().is_connected();
  };
  auto record = [&](const auto& arg) {
    if constexpr (detail::is_tensor_v<decltype(arg)>) {
      record_tensor(arg);
    } else if constexpr (detail::is_tensor_list_v<decltype(arg)>) {
      for (const Tensor& t : arg)
        record_tensor(t);
    }
  };
  (record(args), ...);
  if (!any_requires_grad) return output;

  // The output must be a fresh handle: forward may return one of its inputs (e.g. an identity).
  Tensor result = output.detach();
  result.impl().requires_grad = true;
  result.impl().grad_fn = node;
  return result;
}

}  // namespace qg
