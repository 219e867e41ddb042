// The fake-quantize formula on one run of values that share a (scale, zero point): the one place the QAT side
// computes it. FakeQuantize (quant/fake_quantize.h), its learnable LSQ form (quant/fake_quantize_learnable.h)
// and quantize_codes call these, so that the codes training sees are the ones convert() finds.
//
//   q = round(x / s + Z)                 half to even (std::nearbyint), in float, as PyTorch's
//                                        fake_quantize_per_tensor_affine kernel computes it
//   x̂ = (clamp(q, qmin, qmax) - Z) * s  the dequantized value the float network computes with
//
// Both functions are compiled per instruction set (core/simd.h): from SSE4.1 on nearbyint is one instruction
// and the loops vectorise, where the baseline x86-64 calls the library for every element.
#pragma once

#include <cstdint>

namespace qg::quant {

/// For i < n: x_hat[i] = x̂ of x[i] with step size s > 0 and zero point `zero_point`, codes clamped to
/// [qmin, qmax] (integers, qmin <= qmax). When `in_range` is not null, also in_range[i] = 1 where q lay inside
/// [qmin, qmax] before clamping, else 0 (NaN: 0): the mask of the clipped straight-through estimator and of
/// LSQ's gradients. x_hat and in_range hold n floats each; x_hat may be x.
void fake_quantize_run(const float* x, int64_t n, float s, int32_t zero_point, float qmin, float qmax,
                       float* x_hat, float* in_range);

/// For i < n: codes[i] = clamp(q, qmin, qmax), the integer code of x[i] as a float (NaN stays NaN).
void quantize_codes_run(const float* x, int64_t n, float s, int32_t zero_point, float qmin, float qmax,
                        float* codes);

}  // namespace qg::quant
