// How the quantizers of the model replicas in a data-parallel run agree on what they observe.
//
// In data-parallel QAT (app/data_parallel.h) each process runs the forward pass on its shard of the global
// batch. An observer that updated its range from its shard alone would drift away from the other
// processes' observers, and each would freeze different quantization parameters. So, while a sync is
// installed, an observer first reduces the batch statistics over the processes and only then updates its
// state from the reduced values:
//   the batch minimum  -> the minimum over the shards (MPI_MIN),
//   the batch maximum  -> the maximum over the shards (MPI_MAX),
//   a mean (LSQ's initial step size, from mean |x|) -> sum of the shards' sums / sum of their counts,
// which are the global batch's statistics, so every process holds the same state (a moving average is
// updated from the reduced min and max). Learned step sizes (LSQ) are parameters: their gradients are
// all-reduced with the others.
//
// quant/ does not know MPI: the app installs an implementation (app/data_parallel.cpp) for the training
// loop's duration; with none installed (a single process) the functions below change nothing.
#pragma once

#include <span>

namespace qg::quant {

/// The reductions over the processes of a data-parallel run. Every process must call them in the same
/// order with buffers of the same length (they are collectives).
class StatisticsSync {
 public:
  virtual ~StatisticsSync() = default;
  virtual void min(std::span<float> values) const = 0;   // element-wise minimum over the processes
  virtual void max(std::span<float> values) const = 0;   // element-wise maximum over the processes
  virtual void sum(std::span<double> values) const = 0;  // element-wise sum, in a fixed order
};

/// Installs `sync` for every observer of this process until the guard goes away; nullptr installs none (the
/// observers keep to this process, e.g. while one process alone runs a forward pass to diagnose an error).
class ScopedStatisticsSync {
 public:
  explicit ScopedStatisticsSync(const StatisticsSync* sync);
  ~ScopedStatisticsSync();
  ScopedStatisticsSync(const ScopedStatisticsSync&) = delete;
  ScopedStatisticsSync& operator=(const ScopedStatisticsSync&) = delete;

 private:
  const StatisticsSync* previous_;
};

/// Whether a sync is installed (observers that cannot be reduced refuse to run then).
bool statistics_sync_installed();
/// The installed sync's min / max / sum; nothing without one.
void sync_min(std::span<float> values);
void sync_max(std::span<float> values);
void sync_sum(std::span<double> values);

}  // namespace qg::quant
