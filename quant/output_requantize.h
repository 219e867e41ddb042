// The fake-quant model's output quantizer for conv and linear layers, matching the integer model exactly.
//
// A conv/linear output computed from fake-quantized input, weight and bias lies on the accumulator grid:
//     y = S_in S_w[c] * acc,   acc an integer (bias included)
// The integer model turns acc into an output code with the fixed-point multiplier M = S_in S_w[c] / S_out
// (runtime/requantize.h). Plain FakeQuantize would instead compute round(y / S_out + Z) in float; the two
// agree except on ties and near-ties, and ties are not rare: with min/max observers the output range is
// itself a multiple of S_in S_w, so M is often a simple fraction like 1/24, and y / S_out lands exactly on
// k + 0.5 for a fraction of outputs (0.15 % of the first conv's outputs at 3 bits on MNIST, enough to
// change the predicted class of 4 % of images). So the output quantizer recovers acc = round(y / (S_in S_w[c]))
// and applies the runtime's own requantization to it:
//     q = clamp(multiply_by_quantized_multiplier(acc, M) + Z, qmin, qmax),   y_fq = S_out (q - Z)
// Backward: the straight-through estimator, as FakeQuantize (identity, or masked where q was clamped).
#pragma once

#include <vector>

#include "core/tensor.h"
#include "quant/fake_quantize.h"

namespace qg::quant {

/// The requantized outputs y_fq (not recorded for autograd) and, if asked, the in-range mask: 1 where the
/// code was not clamped. What fake_requantize and fake_requantize_learnable compute their forward with.
struct RequantizedOutput {
  Tensor values;
  Tensor in_range;  // undefined unless with_mask
};
RequantizedOutput requantize_outputs(const Tensor& y, float input_scale, const QParams& weight,
                                     const QParams& output, bool with_mask);

/// The definition of requantize_outputs, one element at a time (the test of the fast path compares the two):
/// acc = round(y / (S_in S_w[c])) saturated to +-(2^31 - 1), then the runtime's
/// clamp(multiply_by_quantized_multiplier(acc, M[c]) + Z, qmin, qmax), and y_fq = S_out (q - Z). Appends the
/// in-range mask to `in_range` when given. NaN inputs are not defined here (the fast path keeps them NaN).
std::vector<float> requantize_outputs_reference(const Tensor& y, float input_scale, const QParams& weight,
                                                const QParams& output,
                                                std::vector<float>* in_range = nullptr);

/// `y` is [N, C, ...] with channel axis 1; `weight` has one scale or C. `output` is per tensor.
Tensor fake_requantize(const Tensor& y, float input_scale, const QParams& weight, const QParams& output,
                       Ste ste);

}  // namespace qg::quant
