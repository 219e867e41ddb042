// Sums over the batch that do not depend on how the batch is split (data-parallel reproducibility).
//
// A training step adds up per-image contributions in several places: the weight and bias gradients of a
// conv or linear layer, batch-norm statistics and their gradients, a learned step size's gradient. Float
// addition is not associative, so the same images split differently (one process with the whole batch,
// or N processes with a shard each, app/data_parallel.h) give sums that differ in their last bits, and
// after many steps a weight at a rounding boundary lands on another integer: the integer model differs.
//
// While split-invariant sums are switched on, those kernels compute one partial sum per image and add the
// partials in the halving tree
//     S(a, b) = S(a, m) + S(m, b),   m = a + (b - a) / 2,   S(a, a + 1) = image a's contribution,
// over the images of the batch. A process holding the contiguous shard [a, b) of a global batch of B
// images computes S(a, b) the same way; when the shards are nodes of the tree over [0, B) (N a power of
// two: BatchShard's boundaries floor(r B / N) are then exactly the tree's midpoints), adding the processes'
// partial sums in the same halving tree over the ranks (Communicator::all_reduce_sum, through the
// cross-process sum below) gives S(0, B) bit for bit, whatever N is. Each level adds in the same type
// (float for gradients, double for batch-norm statistics), so a process's partial sum is exactly the
// subtree one process would compute. Every image's own values must not depend on the other images of its
// batch either: kernels whose BLAS calls span several images (a GEMM's rows, an im2col chunk) then run
// one image at a time.
//
// The cost: one partial buffer per image for the weight gradients (batch x weights floats) and per-image
// work that the default kernels batch up. It is off by default (the kernels then take their faster,
// thread-count-invariant order) and on in data-parallel training (app/data_parallel.h).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace qg::batch_reduction {

/// Whether split-invariant sums are on (in this process; default off).
bool split_invariant();

/// Turns split-invariant sums on for the guard's lifetime (then restores the previous state). Not for use
/// while kernels run on other threads.
class ScopedSplitInvariant {
 public:
  explicit ScopedSplitInvariant(bool on = true);
  ~ScopedSplitInvariant();
  ScopedSplitInvariant(const ScopedSplitInvariant&) = delete;
  ScopedSplitInvariant& operator=(const ScopedSplitInvariant&) = delete;

 private:
  bool previous_;
};

/// Adds `count` partial sums in the halving tree above: partial i is the `size` values at
/// partials + i * size. The result is left in the first partial; the others are overwritten. count >= 1.
void tree_sum(float* partials, int64_t count, int64_t size);
void tree_sum(double* partials, int64_t count, int64_t size);

/// S(0, count) of the tree whose leaf i (`size` values) leaf(i, out) writes, into `out`: computed depth
/// first, so it holds only one buffer per tree level instead of one per leaf (for large weight gradients).
void tree_sum_of(int64_t count, int64_t size, const std::function<void(int64_t leaf, float* out)>& leaf,
                 float* out);
void tree_sum_of(int64_t count, int64_t size, const std::function<void(int64_t leaf, double* out)>& leaf,
                 double* out);

/// The sums over the processes of a data-parallel run, element-wise, in the halving tree over the ranks
/// (collectives: every process calls them in the same order with the same lengths). The training loop
/// installs one for the duration of a data-parallel training step; without one, cross_process_sum does
/// nothing. Every batch sum above is taken over the processes where it is formed (SyncBatchNorm's
/// statistics, and the weight gradients of conv, linear, batch norm and learned step sizes), so that what
/// the backward pass then computes from them (a folded batch norm's scale times a weight gradient, ...) is
/// the same on every process and the same as in one process: summing the parameters' gradients over the
/// processes at the end instead would add the products (a_0 s + a_1 s) where one process computes
/// (a_0 + a_1) s.
class CrossProcessSum {
 public:
  virtual ~CrossProcessSum() = default;
  virtual void sum(std::span<float> values) const = 0;
  virtual void sum(std::span<double> values) const = 0;
};

/// Installs `sum` until the guard goes away (nullptr: none, e.g. while one process alone runs a forward
/// pass to diagnose an error).
class ScopedCrossProcessSum {
 public:
  explicit ScopedCrossProcessSum(const CrossProcessSum* sum);
  ~ScopedCrossProcessSum();
  ScopedCrossProcessSum(const ScopedCrossProcessSum&) = delete;
  ScopedCrossProcessSum& operator=(const ScopedCrossProcessSum&) = delete;

 private:
  const CrossProcessSum* previous_;
};
void cross_process_sum(std::span<float> values);
void cross_process_sum(std::span<double> values);
/// Whether a cross-process sum is installed (a data-parallel, split-invariant step is running).
bool cross_process_sum_installed();

}  // namespace qg::batch_reduction
