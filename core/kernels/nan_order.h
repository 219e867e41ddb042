// The order of the max-like kernels (max, min, argmax, max pooling, the softmax's shift): a NaN wins, as
// in PyTorch, so that a maximum over values holding a NaN is NaN (or its position) and a diverged tensor
// never looks finite downstream.
//
// The plain forms all skip a NaN, because every comparison with NaN is false: `v > best ? v : best` keeps
// `best`; std::max(best, v) returns its first argument (std::max(v, best) would keep the NaN: the argument
// order decides); x86 maxps(a, b) returns its second operand when either is NaN. Kernels that pick a
// maximum go through these two functions instead.
#pragma once

namespace qg::kernel {

/// Whether `v` replaces `best` as the running maximum: it is larger, or it is a NaN (so a later NaN
/// replaces an earlier one, and no number replaces a NaN).
inline bool beats_max(float v, float best) {
  return v > best || v != v;
}

/// The same for a running minimum: smaller, or a NaN.
inline bool beats_min(float v, float best) {
  return v < best || v != v;
}

}  // namespace qg::kernel
