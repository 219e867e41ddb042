// Window2d: the sliding-window geometry shared by Conv2d, MaxPool2d and AvgPool2d.
//
// Along each spatial axis an output position o reads input positions
//     i = o * stride - padding + t * dilation,   t = 0 .. kernel-1,
// and there are floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1 outputs
// (PyTorch's formula with ceil_mode=False; util/window.h, the one definition). Positions outside [0, in)
// are padding.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace qg::runtime {

/// The largest kernel, stride, padding or dilation along an axis: it keeps every product of the window
/// arithmetic below 2^62, so none can overflow.
inline constexpr int64_t kMaxWindowSize = int64_t{1} << 30;

struct Window2d {
  std::array<int64_t, 2> kernel{1, 1};  ///< [height, width]
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};

  /// Number of output positions along `axis` (0 = height, 1 = width) for an input of `in` positions.
  /// Throws std::invalid_argument starting with `what` if the geometry is invalid (kernel, stride or
  /// dilation outside 1..kMaxWindowSize, padding outside 0..kMaxWindowSize) or the window does not fit even
  /// once.
  int64_t output_size(int64_t in, int axis, const std::string& what) const;

  /// "kernel [3,3], stride [1,1], padding [0,0], dilation [1,1]": for error messages.
  std::string describe() const;

  /// The input positions [begin, end) that output position `o` reads along `axis` (dilation 1), clipped to an
  /// input of `in` positions: a pool's window without its padding. Empty (begin >= end) only for a window
  /// that lies wholly in the padding, which a valid pool (padding at most half the kernel) never has.
  struct Range {
    int64_t begin = 0;
    int64_t end = 0;
  };
  Range clipped(int64_t o, int axis, int64_t in) const {
    const int64_t first = o * stride[axis] - padding[axis];
    return {first < 0 ? 0 : first, first + kernel[axis] < in ? first + kernel[axis] : in};
  }

  friend bool operator==(const Window2d&, const Window2d&) = default;
};

}  // namespace qg::runtime
