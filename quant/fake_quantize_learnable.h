// Fake quantization with a learnable step size and zero point: LSQ and LSQ+.
//
// LSQ (Esser et al., "Learned Step Size Quantization", ICLR 2020) makes the step size s of a quantizer a
// trained parameter. LSQ+ (Bhalgat et al., CVPR-W 2020) adds a learned offset for activations that can be
// negative; here the offset is the zero point, rounded to an integer in the forward pass as PyTorch's
// _LearnableFakeQuantize does, so that the result is exactly what the integer runtime computes.
//
// clang-format off
//   forward:   Z = clamp(round(z), qmin, qmax)
//              q = clamp(round(x / s) + Z, qmin, qmax)          (half to even, as FakeQuantize)
//              x̂ = s · (q − Z)
//   backward:  round() passes the gradient straight through (the STE), clamp() does not:
//              dx̂/dx = 1 inside [qmin, qmax], 0 where q was clamped
//              dx̂/ds = (q − Z) − x / s inside, (q − Z) where clamped     (LSQ, eq. 3)
//              dx̂/dz = 0 inside, −s where clamped                         (LSQ+)
//   the step-size and zero-point gradients are multiplied by `grad_scale`, LSQ's g = 1 / sqrt(N · Qp)
//   (N the number of values one step size quantizes per sample, Qp the largest positive code level), which
//   keeps the step size's updates in proportion to the weights' (LSQ, section 2.2).
// clang-format on
//
// These gradients are the exact gradients of the "STE surrogate" in which round(u) is replaced by
// u + stop_gradient(round(u) − u); tests/quant/fake_quantize_learnable_test.cpp checks them numerically
// against that surrogate.
#pragma once

#include "core/tensor.h"
#include "quant/qparams.h"

namespace qg::quant {

/// x̂ for `x` with step size `scale` — shape [1], or [C] for one per slice along axis 0 (weights
/// [C, ...]) — and `zero_point`: undefined for a fixed Z = 0, else shape [1] (float, rounded in the
/// forward pass). Records a node when x, scale or zero_point requires grad. Throws std::invalid_argument
/// when the shapes do not fit, a step size is not positive and finite, or `spec` is binary.
/// `batch_axis`: axis 0 of x is the batch (an activation, not a weight), so that with split-invariant sums
/// (core/batch_reduction.h) a per-tensor step size's gradient is added per image and over the processes.
Tensor fake_quantize_learnable(const Tensor& x, const Tensor& scale, const Tensor& zero_point,
                               const QuantSpec& spec, float grad_scale, bool batch_axis = false);

/// The output quantizer of a conv/linear layer with a learnable output step size: the forward pass is
/// fake_requantize's (the integer model's exact fixed-point requantization of the accumulator y / (S_in S_w),
/// quant/output_requantize.h), the backward pass is fake_quantize_learnable's with x = y. `y` is
/// [N, C, ...]; `scale` and `zero_point` are per tensor ([1]; zero_point may be undefined for Z = 0).
Tensor fake_requantize_learnable(const Tensor& y, float input_scale, const QParams& weight,
                                 const Tensor& scale, const Tensor& zero_point, const QuantSpec& spec,
                                 float grad_scale);

/// The current (S, Z) of a learnable quantizer as QParams: S from `scale` ([1] or [C] along axis 0), Z as the
/// forward pass rounds it (0 when zero_point is undefined).
QParams learnable_qparams(const Tensor& scale, const Tensor& zero_point, const QuantSpec& spec);

}  // namespace qg::quant
