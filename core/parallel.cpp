#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "util/thread_pool.h"

namespace qg::parallel {

namespace {

int default_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::atomic<int>& requested_threads() {
  static std::atomic<int> requested{default_threads()};
  return requested;
}

// Never destroyed (deliberately leaked): tensors in static storage may still run kernels while the
// program exits, after function-local statics would have been destroyed.
util::ThreadPool& pool() {
  static util::ThreadPool* const p = new util::ThreadPool;
  return *p;
}

}  // namespace

void set_num_threads(int threads) {
  if (threads < 1)
    throw std::invalid_argument("set_num_threads: expected at least 1 thread, got " +
                                std::to_string(threads));
  requested_threads() = threads;  // the pool takes the new count at its next job
}

int num_threads() {
  return requested_threads().load();
}

bool in_parallel_region() {
  return util::in_parallel_region();
}

namespace detail {

void run(int64_t tasks, const void* context, TaskFn fn) {
  pool().run(tasks, num_threads(), context, fn);
}

}  // namespace detail

}  // namespace qg::parallel
