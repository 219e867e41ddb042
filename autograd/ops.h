// Differentiable tensor operations. Each is a Function (see function.h) whose forward and backward
// sit side by side in autograd/ops/<concept>.cpp; this header is the user-facing list.
// Neural-network operations (conv2d, pooling, batch norm, losses) live in nn/functional.h.
#pragma once

#include <span>
#include <vector>

#include "core/tensor.h"

namespace qg {

// ---- arithmetic (ops/arithmetic.cpp); binary ops broadcast ------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& a);
Tensor add_scalar(const Tensor& a, float s);
Tensor mul_scalar(const Tensor& a, float s);

inline Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
inline Tensor operator-(const Tensor& a) {
  return neg(a);
}
inline Tensor operator+(const Tensor& a, float s) {
  return add_scalar(a, s);
}
inline Tensor operator-(const Tensor& a, float s) {
  return add_scalar(a, -s);
}
inline Tensor operator*(const Tensor& a, float s) {
  return mul_scalar(a, s);
}
inline Tensor operator*(float s, const Tensor& a) {
  return mul_scalar(a, s);
}
inline Tensor operator/(const Tensor& a, float s) {
  return mul_scalar(a, 1.0f / s);
}

// ---- element-wise math (ops/math.cpp) -------------------------------------------------------
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor pow(const Tensor& a, float exponent);

// ---- reductions (ops/reduction.cpp) ---------------------------------------------------------
/// Sum over axes (empty = all).
Tensor sum(const Tensor& a, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& axes = {}, bool keepdim = false);
/// Maximum along an axis; the gradient flows to the first maximal element.
Tensor max(const Tensor& a, int64_t axis, bool keepdim = false);
/// Index of the maximum (not differentiable; returns float indices).
Tensor argmax(const Tensor& a, int64_t axis, bool keepdim = false);

// ---- shape (ops/shape.cpp) ------------------------------------------------------------------
Tensor reshape(const Tensor& a, const Shape& shape);
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1);
/// Elements [start, start+length) along an axis (a view); e.g. a slice of a batch.
Tensor narrow(const Tensor& a, int64_t axis, int64_t start, int64_t length);
/// Collapses axes start_dim..end to one: [N,C,H,W] -> [N,C*H*W] by default.
Tensor flatten(const Tensor& a, int64_t start_dim = 1);
/// A contiguous copy that stays in the graph.
Tensor contiguous(const Tensor& a);

// ---- joining (ops/cat.cpp) ----------------------------------------------------------------------
/// torch.cat(tensors, axis): the tensors one after another along `axis` (negative counts from the end), e.g.
/// [N, C_0, H, W] and [N, C_1, H, W] along 1 -> [N, C_0 + C_1, H, W]. All sizes but the axis' must match.
/// The gradient of input i is its slice of the output gradient. Throws std::invalid_argument for no tensors,
/// an axis out of range, or shapes that differ in rank or outside the axis (naming both shapes).
Tensor cat(std::span<const Tensor> tensors, int64_t axis);

// ---- linear algebra (ops/matmul.cpp) ----------------------------------------------------------
/// [m,k] x [k,n] -> [m,n].
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace qg
