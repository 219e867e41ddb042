// The processes of a data-parallel run and what they say to each other, over MPI's C API (OpenMPI).
//
// `mpirun -np N build/tools/train ...` starts N copies of the program, the "ranks" 0..N-1 of MPI's
// COMM_WORLD; each holds a replica of the model and trains on its shard of every batch
// (app/data_parallel.h). This file is the only one that calls MPI: a Communicator (rank, size) with the
// three collectives training needs, and an MpiSession that initialises and finalises MPI around a tool.
//
// Without MPI (a build without OpenMPI, QG_MPI off, or a program not started by mpirun) the same API
// describes one process: rank 0 of 1, every all-reduce returns its input. A plain run is therefore
// exactly what it was before MPI existed.
//
// Reproducibility: MPI_Allreduce may add the ranks' buffers in any order (the order is the
// implementation's, and may depend on the message size and the network), and float addition is not
// associative, so its sums are not bit-reproducible. all_reduce_sum fixes the order itself: it moves the
// data with MPI (MPI_Alltoall, MPI_Allgather: pure copies) and adds on the CPU in the halving tree over the
// ranks (core/batch_reduction.h), the order in which split-invariant batch sums combine the ranks' shards.
// A given N therefore gives the same bits run after run, and every rank gets the same bits.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace qg::app::distributed {

/// The ranks of one job: this process's rank in [0, size). A plain value: copying it copies the two numbers.
class Communicator {
 public:
  /// One process on its own: rank 0 of 1.
  Communicator() = default;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Whether this is rank 0, the one that writes files and prints (docs/distributed.md, "One writer").
  bool is_writer() const { return rank_ == 0; }

  /// Element-wise sum over the ranks, in the halving tree: on return `values[i]` on every rank holds
  /// S(0, N) with S(a, b) = S(a, m) + S(m, b), m = a + (b - a) / 2, S(r, r + 1) = v_r[i] (for 4 ranks
  /// (v0 + v1) + (v2 + v3)), the same bits on every rank and in every run with this N.
  /// Every rank must call it with a buffer of the same length. Cost per rank: about 2 (N - 1) / N times the
  /// buffer's bytes sent and as many received, as a ring all-reduce (a reduce-scatter through MPI_Alltoallv:
  /// rank r adds up chunk r of every rank's buffer; then an MPI_Allgatherv of the summed chunks).
  void all_reduce_sum(std::span<float> values) const;
  void all_reduce_sum(std::span<double> values) const;
  /// Element-wise minimum / maximum over the ranks (MPI_Allreduce with MPI_MIN / MPI_MAX: exact, so any
  /// order gives the same bits).
  void all_reduce_min(std::span<float> values) const;
  void all_reduce_max(std::span<float> values) const;

  /// Ends every rank of the job with `exit_code` (MPI_Abort), after printing
  /// "<program>: rank R of N: <message>" on stderr. With one process it prints "<program>: error: <message>"
  /// and exits.
  [[noreturn]] void abort(const std::string& program, const std::string& message, int exit_code) const;

 private:
  friend class MpiSession;
  Communicator(int rank, int size) : rank_(rank), size_(size) {}

  int rank_ = 0;
  int size_ = 1;
};

/// The ranks of this job: what the MpiSession found, or rank 0 of 1 when there is none. Training asks
/// for it (as PyTorch's collectives use the default process group) instead of passing it through every
/// call between a tool's main() and the training loop.
const Communicator& world();

/// Whether this build can run data-parallel (it was built with OpenMPI: QG_MPI).
bool built_with_mpi();
/// Whether an MpiSession initialised MPI: the program was started by mpirun (with any number of ranks).
bool started_by_mpirun();
/// How many ranks of the job run on this machine (OpenMPI's OMPI_COMM_WORLD_LOCAL_SIZE; 1 without mpirun).
int64_t local_ranks();

/// MPI for the lifetime of a tool's main(): MPI_Init_thread in the constructor, MPI_Finalize in the
/// destructor, when the program was started by mpirun (OpenMPI sets OMPI_COMM_WORLD_SIZE); otherwise it
/// does nothing and world() stays one process. Ranks other than 0 send their stdout to /dev/null: only
/// rank 0 prints progress, every rank prints its errors (on stderr). At most one session per process. A build
/// without MPI started by mpirun with several ranks stops at once with a message saying so.
///
///   int main(int argc, char** argv) {
///     MpiSession mpi(argc, argv, "train");
///     return mpi.finish(run_tool("train", [&] { ... }));
///   }
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv, std::string program);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  /// A tool's exit code, passed through. A failure (non-zero) on any rank of a job of several ranks ends the
  /// whole job with MPI_Abort: the other ranks may be waiting for this one in a collective and would
  /// otherwise wait for ever. Files written so far stay as they are (every write is atomic).
  int finish(int exit_code);

 private:
  std::string program_;
  bool initialized_ = false;
};

}  // namespace qg::app::distributed
