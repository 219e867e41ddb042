// The dot-product path of the integer linear layer: several samples at once as a small GEMM of packed 8-bit
// values, on the engine of the dot-product conv (runtime/ops/int8_kernels.h).
//
// A linear layer is a 1x1 conv on a 1x1 image, so the exact zero-point expansion of conv2d_dot.h applies
// with K = in_features: with a = q1 - qmin_in (in [0, 255]) and w = q2 - m (m the middle of the weight code
// range, so w in [-128, 127]),
//     acc = bias[j] + D + (m - Z2[j]) S + (qmin_in - Z1) Sw[j] + K (qmin_in - Z1)(m - Z2[j]),
// D = sum_k a*w (the engine), S = sum_k a (one more output row of the engine, with every weight 1) and
// Sw[j] = sum_k w (fixed per output, packed once with the weights).
//
// The engine's positions are the samples: a_rows[w][n] is word w (k_per_word features) of sample n, so each
// packed weight word is loaded once per block of samples instead of once per sample (the int16 path,
// linear_fast, reads every weight once per sample). Unused positions of the last vector hold zeros.
#pragma once

#include <span>

#include "runtime/ops/int8_kernels.h"
#include "runtime/ops/linear.h"

namespace qg::runtime {

/// Whether the dot path computes `op`: when the engine's int32 sums cannot overflow (in_features < 65536).
bool linear_dot_applies(const Linear& op);

/// `samples` samples at once: input [samples, in_features], output [samples, out_features], each sample as
/// linear_reference computes it (bit-exact). `samples` >= 1.
void linear_dot(const Linear& op, int64_t samples, std::span<const int32_t> input, std::span<int32_t> output,
                RequantMode mode, Scratch& scratch, int8::Isa isa);

}  // namespace qg::runtime
