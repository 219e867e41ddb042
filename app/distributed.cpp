#include "app/distributed.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "core/batch_reduction.h"

#ifdef QG_MPI
#include <mpi.h>
#endif

namespace qg::app::distributed {

namespace {

Communicator g_world;              // what MpiSession found; one process until then
bool g_started_by_mpirun = false;  // an MpiSession initialised MPI

#ifdef QG_MPI
// [begin, end) of chunk `r` when `n` values are cut into `parts` nearly equal contiguous chunks.
std::pair<int, int> chunk(int n, int parts, int r) {
  const auto at = [&](int i) { return static_cast<int>(static_cast<int64_t>(n) * i / parts); };
  return {at(r), at(r + 1)};
}

template <typename T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}

// The reduce-scatter + all-gather of Communicator::all_reduce_sum. MPI only copies; the adding is here, in
// a fixed order, so its rounding is the same in every run.
template <typename T>
void sum_in_rank_order(std::span<T> values, int rank, int size) {
  const int n = static_cast<int>(values.size());
  std::vector<int> counts(size), offsets(size);
  for (int r = 0; r < size; ++r) {
    const auto [begin, end] = chunk(n, size, r);
    counts[r] = end - begin;
    offsets[r] = begin;
  }
  // 1. Reduce-scatter: rank r receives chunk r of every rank's buffer (rank q's copy at q * counts[rank]).
  const int mine = counts[rank];
  std::vector<T> received(static_cast<size_t>(mine) * size);
  std::vector<int> receive_counts(size, mine), receive_offsets(size);
  for (int q = 0; q < size; ++q)
    receive_offsets[q] = q * mine;
  MPI_Alltoallv(values.data(), counts.data(), offsets.data(), mpi_type<T>(), received.data(),
                receive_counts.data(), receive_offsets.data(), mpi_type<T>(), MPI_COMM_WORLD);
  // The ranks' parts added in the halving tree over the ranks (core/batch_reduction.h), so that with N a
  // power of two the processes' partial sums combine exactly as one process's per-image sums do.
  if (mine > 0) batch_reduction::tree_sum(received.data(), size, mine);
  // 2. All-gather: every rank receives every summed chunk, in place.
  MPI_Allgatherv(received.data(), mine, mpi_type<T>(), values.data(), counts.data(), offsets.data(),
                 mpi_type<T>(), MPI_COMM_WORLD);
}
#endif

}  // namespace

bool built_with_mpi() {
#ifdef QG_MPI
  return true;
#else
  return false;
#endif
}

bool started_by_mpirun() {
  return g_started_by_mpirun;
}

int64_t local_ranks() {
  const char* size = g_started_by_mpirun ? std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE") : nullptr;
  if (size == nullptr) return 1;
  char* end = nullptr;
  const long n = std::strtol(size, &end, 10);
  return end != size && *end == '\0' && n >= 1 ? n : 1;
}

const Communicator& world() {
  return g_world;
}

void Communicator::all_reduce_sum([[maybe_unused]] std::span<float> values) const {
  if (size_ == 1) return;
#ifdef QG_MPI
  sum_in_rank_order(values, rank_, size_);
#endif
}

void Communicator::all_reduce_sum([[maybe_unused]] std::span<double> values) const {
  if (size_ == 1) return;
#ifdef QG_MPI
  sum_in_rank_order(values, rank_, size_);
#endif
}

void Communicator::all_reduce_min([[maybe_unused]] std::span<float> values) const {
  if (size_ == 1) return;
#ifdef QG_MPI
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_FLOAT, MPI_MIN,
                MPI_COMM_WORLD);
#endif
}

void Communicator::all_reduce_max([[maybe_unused]] std::span<float> values) const {
  if (size_ == 1) return;
#ifdef QG_MPI
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_FLOAT, MPI_MAX,
                MPI_COMM_WORLD);
#endif
}

void Communicator::abort(const std::string& program, const std::string& message, int exit_code) const {
  std::fflush(stdout);
  if (size_ > 1) {
    std::fprintf(stderr, "%s: rank %d of %d: %s\n", program.c_str(), rank_, size_, message.c_str());
  } else {
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), message.c_str());
  }
  std::fflush(stderr);
#ifdef QG_MPI
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
#endif
  std::exit(exit_code);
}

MpiSession::MpiSession(int& argc, char**& argv, std::string program) : program_(std::move(program)) {
  assert(g_world.size() == 1 && "one MpiSession per process");
#ifdef QG_MPI
  // Started by mpirun? Otherwise MPI_Init would make a one-process "singleton" job: slower to start, and
  // nothing to gain.
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) return;
  int provided = 0;
  // FUNNELED: only the main thread calls MPI (the DataLoader's prefetch thread and OpenBLAS's never do).
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  initialized_ = true;
  g_started_by_mpirun = true;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  g_world = Communicator(rank, size);
  if (rank != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
    g_world.abort(program_, "cannot send this rank's stdout to /dev/null", 1);
  }
#else
  (void)argc;
  (void)argv;
  // Started by mpirun with several ranks, but without MPI: each would train alone and write the same files.
  const char* ranks = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (ranks != nullptr && std::string(ranks) != "1") {
    g_world.abort(program_,
                  "started by mpirun with " + std::string(ranks) +
                      " ranks, but this build has no MPI (QG_MPI off): install Debian's openmpi-bin and "
                      "libopenmpi-dev and rebuild (docs/distributed.md)",
                  2);
  }
#endif
}

int MpiSession::finish(int exit_code) {
  if (exit_code != 0 && g_world.size() > 1) {
    g_world.abort(program_, "stopping every rank of the job after the error above", exit_code);
  }
  return exit_code;
}

MpiSession::~MpiSession() {
#ifdef QG_MPI
  if (initialized_) MPI_Finalize();
#endif
  g_world = Communicator();
  g_started_by_mpirun = false;
}

}  // namespace qg::app::distributed
