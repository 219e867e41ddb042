// ThreadPool: how quantgrad splits work across cores, for the float kernels (core/parallel.h) and the
// integer runtime (runtime/run.h) alike.
//
//     util::ThreadPool pool;
//     pool.parallel_for(tasks, /*threads=*/4, [&](int64_t task) { ... });   // task = 0 .. tasks-1
//
// Worker threads (threads - 1 of them; the calling thread is the last worker) take the tasks one at a time
// from a shared counter, so a core that is slowed down by another process simply takes fewer tasks. The
// caller makes results independent of the thread count by giving every task a fixed share of the work
// (e.g. images [8t, 8t+8)) and combining per-task results in task order.
//
// The tasks run on the calling thread alone (in order) when there is nothing to share (one task, one
// thread), when the call is nested inside a task of any pool (no nested parallelism), or when another
// thread is running a job on this pool right now (say a data loader's worker): callers never wait for each
// other. The workers are started on the first job that needs them and replaced when a job asks for another
// thread count; an idle worker polls for about 100 us before it sleeps (a training step runs dozens of
// short jobs back to back).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

namespace qg::util {

/// True while the current thread is running a task of a ThreadPool.
bool in_parallel_region();

class ThreadPool {
 public:
  ThreadPool();
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  using TaskFn = void (*)(const void* context, int64_t task);
  /// Calls fn(context, task) once for every task in [0, tasks) on up to `threads` threads (>= 1, the caller
  /// included); returns when all are done. An exception thrown by a task is re-thrown here (the first one;
  /// the remaining tasks still run).
  void run(int64_t tasks, int threads, const void* context, TaskFn fn);

  /// run() with a callable: body(task).
  template <class Body>
  void parallel_for(int64_t tasks, int threads, const Body& body) {
    if (tasks <= 0) return;
    run(tasks, threads, &body,
        [](const void* context, int64_t task) { (*static_cast<const Body*>(context))(task); });
  }

 private:
  class Workers;  // a fixed set of threads that run one job at a time (thread_pool.cpp)

  std::mutex mutex_;  // held while a job runs and while the workers are replaced
  std::unique_ptr<Workers> workers_;
};

}  // namespace qg::util
