// The depthwise path of the integer conv: one input channel per group (groups == in_channels > 1), as in
// MobileNet's depthwise-separable blocks (Howard et al. 2017; TFLite DEPTHWISE_CONV_2D, with channel
// multiplier out_channels / groups).
//
// Such a conv has only K = kH * kW products per output (9 for 3x3), too few for the dot path's packed GEMM
// (conv2d_dot.h) to repay packing the input into words once per group. This path sums straight from the
// input plane instead. With a = q1 - Z1 (0 on padding, as in the definition in conv2d.h) and, per output
// channel c, the tap weights w_t = q2[c, t] - Z2[c]:
//     acc[y][x] = bias[c] + sum_t w_t * a[y*s_h - p_h + ki*d_h][x*s_w - p_w + kj*d_w]
// one output row at a time: acc_row += w_t * (a row), a loop over x the compiler vectorises. A stride s > 1
// first splits the padded plane into its s_h * s_w phases, as the dot path does (space-to-depth: phase
// (r_h, r_w) holds padded positions (i*s_h + r_h, j*s_w + r_w)), so that each tap reads a contiguous row of
// one phase. The sums are exact integers, so the result equals conv2d_reference's whatever the order.
#pragma once

#include <span>

#include "runtime/ops/conv2d.h"

namespace qg::runtime {

/// Whether conv2d_depthwise computes `op`: groups == in_channels > 1 (any channel multiplier, kernel,
/// stride, padding and dilation).
bool conv2d_depthwise_applies(const Conv2d& op);

/// One sample, like conv2d_reference ([C_in, H, W] codes in, [C_out, H_out, W_out] codes out); bit-exact with
/// it. `isa` picks the row kernels (int8::offset_rows, int8::requantize_rows). Uses scratch.values,
/// scratch.dots and scratch.codes.
void conv2d_depthwise(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                      std::span<int32_t> output, RequantMode mode, Scratch& scratch, int8::Isa isa);

}  // namespace qg::runtime
