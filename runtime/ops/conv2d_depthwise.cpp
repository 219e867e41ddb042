#include "runtime/ops/conv2d_depthwise.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

#include "runtime/ops/channel_codes.h"
#include "runtime/ops/int8_kernels.h"
#include "runtime/ops/simd_clones.h"
#include "runtime/ops/stride_phases.h"

namespace qg::runtime {

namespace {

// The geometry of one call: the stride-phase split of the input (stride_phases.h), with each tap's read as
// one offset into the phase planes laid out one after the other.
struct Geometry : phases::StridePhases {
  int64_t phase_size = 0;  // phase_h * phase_w
  // Tap (ki, kj) of output (y, x) reads phases[tap_offsets[t] + y * phase_w + x], t = ki * kW + kj.
  std::vector<int64_t> tap_offsets;
  int64_t span = 0;  // (out_height - 1) * phase_w + out_width: the gappy positions of the outputs
};

Geometry geometry_of(const Conv2d& op, const Dims& input_shape) {
  Geometry g;
  static_cast<phases::StridePhases&>(g) = phases::stride_phases(op, input_shape);
  g.phase_size = g.phase_h * g.phase_w;
  g.span = (g.out_height - 1) * g.phase_w + g.out_width;
  for (const phases::TapRead& read : g.reads)
    g.tap_offsets.push_back(read.phase * g.phase_size + read.offset);
  return g;
}

// phases[r * phase_size + i * phase_w + j] = a at padded position (i*s_h + r_h, j*s_w + r_w), r = r_h*s_w + r_w:
// q1 - Z1 in the image, 0 on padding and beyond the padded plane.
void fill_phases(const Geometry& g, const int32_t* channel, int32_t zero, int8::Isa isa, int32_t* phases) {
  for (int64_t r_h = 0; r_h < g.stride_h; ++r_h) {
    const auto [row_begin, row_end] = phases::inside_range(g.height, g.pad_h, g.stride_h, r_h, g.phase_h);
    for (int64_t r_w = 0; r_w < g.stride_w; ++r_w) {
      const auto [column_begin, column_end] =
          phases::inside_range(g.width, g.pad_w, g.stride_w, r_w, g.phase_w);
      int32_t* plane = phases + (r_h * g.stride_w + r_w) * g.phase_size;
      std::fill(plane, plane + g.phase_size, 0);
      if (row_begin == row_end || column_begin == column_end) continue;  // a phase of padding only
      const int64_t y = row_begin * g.stride_h + r_h - g.pad_h, x = column_begin * g.stride_w + r_w - g.pad_w;
      int8::offset_rows(isa, channel + y * g.width + x, g.stride_h * g.width, g.stride_w, zero,
                        row_end - row_begin, column_end - column_begin,
                        plane + row_begin * g.phase_w + column_begin, g.phase_w);
    }
  }
}

// 16 int32 lanes (GCC's vector extension): one AVX-512 register, two AVX2 ones, four SSE ones, as the clone
// compiled for this CPU has them. Written out because GCC unrolls the plain loop over a block fully and then
// finds the unrolled code not worth vectorising.
using Lanes = int32_t __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;
constexpr int64_t kVectors = 4;                // accumulators per block
constexpr int64_t kBlock = kLanes * kVectors;  // outputs accumulated together

// acc[q] = bias + sum_t weights[t] * phases[tap_offsets[t] + q] for q < span, rounded up to kBlock: one
// output channel over the gappy positions q = y * phase_w + x (as the dot path numbers them), so that every
// tap reads one long contiguous run. Each block of kBlock sums stays in registers while all taps add to it.
QG_RUNTIME_CLONES void accumulate_channel(const Geometry& g, const int32_t* phases, const int32_t* weights,
                                          int32_t bias, int32_t* acc) {
  const auto taps = static_cast<int64_t>(g.tap_offsets.size());
  for (int64_t q = 0; q < g.span; q += kBlock) {
    Lanes sums[kVectors];
    for (Lanes& s : sums)
      s = Lanes{} + bias;
    for (int64_t t = 0; t < taps; ++t) {
      const int32_t* source = phases + g.tap_offsets[static_cast<size_t>(t)] + q;
      const int32_t w = weights[t];
      for (int64_t v = 0; v < kVectors; ++v) {
        Lanes a;
        std::memcpy(&a, source + v * kLanes, sizeof a);  // an unaligned load
        sums[v] += a * w;
      }
    }
    std::memcpy(acc + q, sums, sizeof sums);
  }
}

}  // namespace

bool conv2d_depthwise_applies(const Conv2d& op) {
  return op.groups > 1 && op.groups == op.in_channels;
}

void conv2d_depthwise(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                      std::span<int32_t> output, RequantMode mode, Scratch& scratch, int8::Isa isa) {
  assert(conv2d_depthwise_applies(op));
  const Geometry g = geometry_of(op, input_shape);
  const int64_t multiplier = op.out_channels / op.groups;  // output channels per input channel
  const auto taps = static_cast<int64_t>(g.tap_offsets.size());
  const int64_t out_plane = g.out_height * g.out_width;
  assert(static_cast<int64_t>(output.size()) == op.out_channels * out_plane);
  // The last block of outputs reads up to kBlock - 1 values beyond the phases: zeros, summed into outputs
  // that are dropped.
  const int64_t phases_size = g.stride_h * g.stride_w * g.phase_size;
  int32_t* const phases = grow_to(scratch.values, static_cast<size_t>(phases_size + kBlock));
  std::fill(phases + phases_size, phases + phases_size + kBlock, 0);
  int32_t* const acc = grow_to(scratch.dots, static_cast<size_t>(int8::round_up(g.span, kBlock)));
  int32_t* const codes = grow_to(scratch.codes, static_cast<size_t>(g.span));  // span_codes of channel_codes
  std::vector<int32_t> weights(static_cast<size_t>(taps));
  for (int64_t ci = 0; ci < op.in_channels; ++ci) {
    fill_phases(g, input.data() + ci * g.height * g.width, op.input_quant.zero_point, isa, phases);
    for (int64_t oc = ci * multiplier; oc < (ci + 1) * multiplier; ++oc) {
      const int32_t weight_zero = op.weight.zero_point(oc);
      for (int64_t t = 0; t < taps; ++t)
        weights[static_cast<size_t>(t)] = op.weight.codes[static_cast<size_t>(oc * taps + t)] - weight_zero;
      accumulate_channel(g, phases, weights.data(), op.bias.empty() ? 0 : op.bias[static_cast<size_t>(oc)],
                         acc);
      channel_codes(op.output_stage, oc, mode, isa,
                    {acc, nullptr, 0, 0, g.phase_w, g.out_height, g.out_width},
                    output.data() + oc * out_plane, codes);
    }
  }
}

}  // namespace qg::runtime
