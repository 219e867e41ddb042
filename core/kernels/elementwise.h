// Element-wise kernels: plain, non-differentiable functions from tensors to new tensors.
// Binary kernels broadcast NumPy-style. Inputs may be strided; outputs are always contiguous.
// The differentiable versions (autograd/ops.h) call these.
#pragma once

#include "core/tensor.h"

namespace qg::kernel {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor add_scalar(const Tensor& a, float s);
Tensor mul_scalar(const Tensor& a, float s);
Tensor pow_scalar(const Tensor& a, float exponent);

Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
/// max(x, 0), NaN staying NaN (as torch.relu).
Tensor relu(const Tensor& a);
/// 0 where x <= 0, else grad: the derivative of ReLU applied to an incoming gradient (a NaN x passes the
/// gradient on, as torch's threshold_backward).
Tensor relu_backward(const Tensor& grad, const Tensor& x);
/// Element-wise clamp to [low, high], NaN staying NaN (as torch.clamp).
Tensor clamp(const Tensor& a, float low, float high);

/// dst += alpha * src, in place; dst must be contiguous and of src's shape.
void axpy(Tensor& dst, const Tensor& src, float alpha = 1.0f);
/// dst *= s, in place (dst contiguous).
void scale(Tensor& dst, float s);

}  // namespace qg::kernel
