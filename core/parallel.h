// parallel_for: how the kernels split a batch across the cores.
//
//     parallel::parallel_for(tasks, [&](int64_t task) { ... });   // task = 0 .. tasks-1
//
// A small pool of worker threads (util/thread_pool.h; num_threads() - 1 of them, the calling thread is the
// last worker) takes the tasks one at a time from a shared counter, so a core that is slowed down by another
// process simply takes fewer tasks. Kernels make their results independent of the thread count by giving every task a
// fixed share of the work (e.g. images [8t, 8t+8)) and combining per-task partial results in task order:
// which thread ran a task never changes a number.
//
// The pool replaces OpenBLAS's own threads (core/blas.cpp keeps OpenBLAS single-threaded): OpenBLAS's
// threads spin in sched_yield between the many small products of a training step, which cost more system
// time than the products themselves. A parallel_for inside a task runs inline (no nested parallelism).
#pragma once

#include <cstdint>
#include <type_traits>

namespace qg::parallel {

/// Threads parallel_for uses, including the caller (>= 1). The default is the number of cores.
void set_num_threads(int threads);
int num_threads();

/// True while the current thread is running a parallel_for task (or a task of another util::ThreadPool).
bool in_parallel_region();

namespace detail {
using TaskFn = void (*)(const void* context, int64_t task);
void run(int64_t tasks, const void* context, TaskFn fn);
}  // namespace detail

/// Calls body(task) once for every task in [0, tasks), spread over the pool; returns when all are done.
/// An exception thrown by a task is re-thrown here (the first one; the remaining tasks still run).
template <class Body>
void parallel_for(int64_t tasks, const Body& body) {
  if (tasks <= 0) return;
  detail::run(tasks, &body,
              [](const void* context, int64_t task) { (*static_cast<const Body*>(context))(task); });
}

/// Tasks of about `grain` items each for `items` items: ceil(items / grain), at least 1.
inline int64_t task_count(int64_t items, int64_t grain) {
  return items <= grain ? 1 : (items + grain - 1) / grain;
}

}  // namespace qg::parallel
