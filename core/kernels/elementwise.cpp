#include "core/kernels/elementwise.h"

#include <stdexcept>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

#include "core/kernels/xview.h"

namespace qg::kernel {

using detail::xview;

namespace {

// Applies an xtensor expression builder to broadcast operands and stores it into a fresh tensor.
template <class Op>
Tensor binary(const Tensor& a, const Tensor& b, const char* name, Op op) {
  const Tensor ca = a.contiguous();
  const Tensor cb = b.contiguous();
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name));
  auto o = xview(out);
  xt::noalias(o) = op(xview(ca), xview(cb));
  return out;
}

template <class Op>
Tensor unary(const Tensor& a, Op op) {
  const Tensor ca = a.contiguous();
  Tensor out = Tensor::empty(a.shape());
  auto o = xview(out);
  xt::noalias(o) = op(xview(ca));
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary(a, b, "add", [](auto&& x, auto&& y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary(a, b, "sub", [](auto&& x, auto&& y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(a, b, "mul", [](auto&& x, auto&& y) { return x * y; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary(a, b, "div", [](auto&& x, auto&& y) { return x / y; });
}

Tensor add_scalar(const Tensor& a, float s) {
  return unary(a, [s](auto&& x) { return x + s; });
}
Tensor mul_scalar(const Tensor& a, float s) {
  return unary(a, [s](auto&& x) { return x * s; });
}
Tensor pow_scalar(const Tensor& a, float exponent) {
  return unary(a, [exponent](auto&& x) { return xt::pow(x, exponent); });
}
Tensor neg(const Tensor& a) {
  return unary(a, [](auto&& x) { return -x; });
}
Tensor exp(const Tensor& a) {
  return unary(a, [](auto&& x) { return xt::exp(x); });
}
Tensor log(const Tensor& a) {
  return unary(a, [](auto&& x) { return xt::log(x); });
}
Tensor sqrt(const Tensor& a) {
  return unary(a, [](auto&& x) { return xt::sqrt(x); });
}
Tensor relu(const Tensor& a) {
  return unary(a, [](auto&& x) { return xt::maximum(x, 0.0f); });
}
Tensor clamp(const Tensor& a, float low, float high) {
  return unary(a, [low, high](auto&& x) { return xt::clip(x, low, high); });
}

Tensor relu_backward(const Tensor& grad, const Tensor& x) {
  if (grad.shape() != x.shape()) {
    throw std::invalid_argument("relu_backward: gradient " + to_string(grad.shape()) + " vs input " +
                                to_string(x.shape()));
  }
  return binary(grad, x, "relu_backward", [](auto&& g, auto&& v) { return xt::where(v > 0.0f, g, 0.0f); });
}

void axpy(Tensor& dst, const Tensor& src, float alpha) {
  if (dst.shape() != src.shape()) {
    throw std::invalid_argument("axpy: shapes " + to_string(dst.shape()) + " and " + to_string(src.shape()) +
                                " differ");
  }
  const Tensor csrc = src.contiguous();
  auto d = xview(dst);
  d += alpha * xview(csrc);
}

void scale(Tensor& dst, float s) {
  auto d = xview(dst);
  d *= s;
}

}  // namespace qg::kernel
