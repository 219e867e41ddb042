// The stride-phase split of a conv's padded input (space-to-depth), shared by the integer conv's dot path
// (conv2d_dot.h) and depthwise path (conv2d_depthwise.h).
//
// Phase (r_h, r_w) of the padded input is the plane of its positions (i*s_h + r_h, j*s_w + r_w),
// phase_h = ceil(H_padded / s_h) rows by phase_w = ceil(W_padded / s_w) columns; it is phase number
// r = r_h * s_w + r_w. Tap (ki, kj) of output (y, x) reads padded position (y*s_h + ki*d_h, x*s_w + kj*d_w);
// with ki*d_h = a_h*s_h + r_h (and likewise for columns) that is position (y + a_h, x + a_w) of phase
// (r_h, r_w): a constant offset a_h*phase_w + a_w in one phase plane, so that numbering the outputs
// q = y*phase_w + x makes "tap t of consecutive outputs" a contiguous run. At stride 1 the one phase is the
// padded plane.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/dims.h"
#include "runtime/ops/conv2d.h"

namespace qg::runtime::phases {

inline int64_t ceil_div(int64_t value, int64_t divisor) {
  return (value + divisor - 1) / divisor;
}

/// The rows (or columns) j < n of a phase plane whose input row j * stride + phase - pad lies in the image
/// [0, size): [begin, end).
struct InsideRange {
  int64_t begin = 0, end = 0;
};

inline InsideRange inside_range(int64_t size, int64_t pad, int64_t stride, int64_t phase, int64_t n) {
  const int64_t begin = std::min(ceil_div(std::max<int64_t>(pad - phase, 0), stride), n);
  const int64_t end = std::clamp(ceil_div(std::max<int64_t>(size + pad - phase, 0), stride), begin, n);
  return {begin, end};
}

/// Where a tap reads: phase plane `phase`, from `offset` on (output q reads position q + offset).
struct TapRead {
  int64_t phase = 0, offset = 0;
};

/// The split of one conv call's input.
struct StridePhases {
  int64_t height = 0, width = 0, out_height = 0, out_width = 0;
  int64_t pad_h = 0, pad_w = 0;
  int64_t stride_h = 0, stride_w = 0;  // the input has stride_h * stride_w phases
  int64_t phase_h = 0, phase_w = 0;    // rows and columns of a phase plane; outputs lie in rows phase_w apart
  int64_t phases = 0;
  std::vector<TapRead> reads;  // per tap, (ki, kj) in the weight's row-major order
};

/// The split for `op` on an input of shape [C, H, W] (validated: output sizes of at least 1).
inline StridePhases stride_phases(const Conv2d& op, const Dims& input_shape) {
  StridePhases p;
  p.height = input_shape[1];
  p.width = input_shape[2];
  p.out_height = op.window.output_size(p.height, 0, Conv2d::kName);
  p.out_width = op.window.output_size(p.width, 1, Conv2d::kName);
  p.pad_h = op.window.padding[0];
  p.pad_w = op.window.padding[1];
  p.stride_h = op.window.stride[0];
  p.stride_w = op.window.stride[1];
  p.phase_h = ceil_div(p.height + 2 * p.pad_h, p.stride_h);
  p.phase_w = ceil_div(p.width + 2 * p.pad_w, p.stride_w);
  p.phases = p.stride_h * p.stride_w;
  p.reads.reserve(static_cast<size_t>(op.window.kernel[0] * op.window.kernel[1]));
  for (int64_t ki = 0; ki < op.window.kernel[0]; ++ki) {
    for (int64_t kj = 0; kj < op.window.kernel[1]; ++kj) {
      const int64_t dy = ki * op.window.dilation[0], dx = kj * op.window.dilation[1];
      p.reads.push_back(
          {dy % p.stride_h * p.stride_w + dx % p.stride_w, dy / p.stride_h * p.phase_w + dx / p.stride_w});
    }
  }
  return p;
}

}  // namespace qg::runtime::phases
