// The gradients of a learnable (LSQ/LSQ+) quantizer's backward pass: dL/dx element by element and the two
// sums dL/ds and dL/dz, from what the forward pass kept (quant/fake_quantize_learnable.h gives the formulas).
//
//   dx_i = g_i                                  where x_i was in range (in_range_i = 1), else 0
//   ds   = Σ_i g_i · (x̂_i − x_i) / s  inside,  g_i · x̂_i / s  where clamped            (LSQ, eq. 3)
//   dz   = Σ_i −g_i · s  where clamped,  0 inside                                        (LSQ+)
//
// The sums run over a quantizer's *runs*: spans of elements that share one step size (a whole activation
// tensor, one image of it, or one output channel of a weight). A run of a 26x26x40 activation at batch 64
// holds 1.7 million elements, so how it is added up decides the speed: a single chain of double additions
// in index order waits for each addition before the next (four cycles an element) and cannot be split
// between threads.
//
// `learnable_run_sums` therefore cuts each run into fixed chunks of kLearnableChunk elements, sums a chunk in
// eight double lanes (lane l takes the elements l, l + 8, l + 16, ... of the chunk; the lanes are added
// pairwise at the end, then the chunk's last n % 8 elements in order), runs the chunks on the thread pool
// and adds a run's chunk sums in chunk order. The order of every addition is fixed by the code, not by the
// thread count or the instruction set: the products g·(…) of two floats are exact in double, so a fused
// multiply-add rounds them exactly as a multiply and an add do, and every clone gives the same bits.
// `learnable_run_sums_reference` is the plain loop in index order, kept beside it to read and to test
// against: the two differ only in how double sums of the same terms are rounded.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qg::quant {

/// Elements per chunk of a run: the unit of parallel work and of the fixed summation order.
inline constexpr int64_t kLearnableChunk = 8192;

/// What a learnable quantizer's backward pass reads, n elements each: the output gradient g, the input x,
/// the output x̂ and the in-range mask (1.0f inside [qmin, qmax] before clamping, 0.0f where clamped; any
/// value other than 0.0f counts as inside).
struct LearnableBackwardInputs {
  const float* grad = nullptr;
  const float* x = nullptr;
  const float* x_hat = nullptr;
  const float* in_range = nullptr;
  int64_t n = 0;
};

/// One run of elements: [begin, begin + size) with step size `scale` (> 0).
struct LearnableRun {
  int64_t begin = 0;
  int64_t size = 0;
  float scale = 1.0f;
};

/// A run's two sums, in double: ds = Σ g · dx̂/ds and dz = Σ g · dx̂/dz (before LSQ's gradient scale).
struct LearnableSums {
  double ds = 0.0;
  double dz = 0.0;
};

/// Writes dx[i] for every element of every run (dx holds n floats; runs must not overlap and must lie in
/// [0, n)) and returns each run's sums, in the fixed chunked order above; the chunks run on the thread pool
/// (core/parallel.h) and the result does not depend on the thread count.
std::vector<LearnableSums> learnable_run_sums(const LearnableBackwardInputs& in,
                                              std::span<const LearnableRun> runs, float* dx);

/// The same in index order, one double addition after another, on the calling thread: the reference.
std::vector<LearnableSums> learnable_run_sums_reference(const LearnableBackwardInputs& in,
                                                        std::span<const LearnableRun> runs, float* dx);

}  // namespace qg::quant
