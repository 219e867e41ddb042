// The dot-product path of the integer conv (any stride, padding, dilation, groups): the conv as a small
// GEMM of packed 8-bit values.
//
// With a = q1 - qmin_in (in [0, 255]) and w = q2 - m (m a midpoint of output channel c's codes with w in
// [-128, 127]), each product of the conv's definition (conv2d.h) expands exactly into
//     (q1 - Z1)(q2 - Z2[c]) = a*w + (m - Z2[c]) a + (qmin_in - Z1) w + (qmin_in - Z1)(m - Z2[c])
// so that, summed over the K = C_in/G * kH * kW products of an output (padding counts as a = Z1 - qmin_in,
// contributing 0 as in the definition),
//     acc = bias[c] + D + (m - Z2[c]) S + (qmin_in - Z1) Sw[c] + K (qmin_in - Z1)(m - Z2[c]),
// D = sum a*w (the int8 engine, runtime/ops/int8_kernels.h), S = sum a (one more output row of the engine,
// with every weight 1) and Sw[c] = sum w (fixed per channel).
//
// The midpoint m is the channel's zero point Z2[c] when all its codes lie in [Z2[c] - 128, Z2[c] + 127]
// (symmetric signed weights, and trained layers whose codes span less than the grid, as BN-folded ones
// do): then m - Z2[c] = 0, the epilogue needs no S, and a group whose channels all fit computes none.
// Otherwise m is the middle of the code range (128 for 8-bit unsigned codes), which any code fits.
//
// The engine's rows of positions use the stride-1 trick of the float conv (core/kernels/conv_direct.cpp):
// number the padded input plane q = y*Wp + x; the tap (ki, kj) of output q reads position
// q + ki*d*Wp + kj*d, a constant offset, so "the activations of tap t for 16 consecutive outputs" are 16
// consecutive words. A stride s > 1 is first turned into stride 1 by splitting the padded input into its
// s_h * s_w phases (space-to-depth): phase (r_h, r_w) is the plane of padded positions (i*s_h + r_h,
// j*s_w + r_w), ceil(Wp / s_w) wide. With ki*d_h = a_h*s_h + r_h (and likewise for columns), the tap
// (ki, kj) of output (y, x) reads position (y + a_h, x + a_w) of phase (r_h, r_w): again a constant offset
// in one plane, and outputs number q = y*ceil(Wp / s_w) + x. (At stride 1 the one phase is the padded
// plane.) The k-values are packed into words either 4 (or 2) channels at a time, when a group has that
// many channels, or 4 (or 2) consecutive taps of an explicit im2col otherwise (the first layer of an
// image model has one channel).
#pragma once

#include <span>

#include "runtime/ops/conv2d.h"
#include "runtime/ops/max_pool2d.h"

namespace qg::runtime {

/// Whether the dot path computes `op`: when the engine's int32 sums cannot overflow (K < 65536) and the
/// stride has at most 64 phases (stride_h * stride_w; larger strides take the int16 path).
bool conv2d_dot_applies(const Conv2d& op);

/// One sample, like conv2d_reference; bit-exact with it.
void conv2d_dot(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                std::span<int32_t> output, RequantMode mode, Scratch& scratch, int8::Isa isa);

/// Whether `pool` can be fused into conv2d_dot_pooled: a 2x2 window with stride 2 and no padding.
bool pool_fuses(const MaxPool2d& pool);

/// The conv followed by the 2x2 max pool, in one step: max_pool2d(conv2d(x)) exactly, written to `output`
/// ([C_out, H_out/2, W_out/2]). The requantization q3 = clamp(Z3 + round(M acc)) never decreases when acc
/// grows (M >= 0, and rounding and clamping are monotone), so the max of four codes is the code of the
/// max of their four accumulators: the pool runs on the accumulators and only a quarter of the outputs
/// are requantized.
void conv2d_dot_pooled(const Conv2d& op, const MaxPool2d& pool, const Dims& input_shape,
                       std::span<const int32_t> input, std::span<int32_t> output, RequantMode mode,
                       Scratch& scratch, int8::Isa isa);

}  // namespace qg::runtime
