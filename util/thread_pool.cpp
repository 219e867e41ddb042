#include "util/thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace qg::util {

namespace {

thread_local bool tl_in_region = false;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How long an idle worker keeps polling for the next job before it sleeps in the kernel. A training step
// runs a few dozen kernels back to back with short serial gaps between them; polling across a gap saves
// the wake-up latency of a futex, sleeping beyond it leaves the core to other processes.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(100);

// Every task on the calling thread, in order, with the same exception rule as the workers.
void run_inline(int64_t tasks, const void* context, ThreadPool::TaskFn fn) {
  const bool outer = !tl_in_region;
  tl_in_region = true;
  std::exception_ptr error;
  for (int64_t task = 0; task < tasks; ++task) {
    try {
      fn(context, task);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (outer) tl_in_region = false;
  if (error) std::rethrow_exception(error);
}

}  // namespace

bool in_parallel_region() {
  return tl_in_region;
}

// One job runs at a time: `published_` says whether the job's fields may be read, `users_` counts workers
// inside a job, and run() returns only after it has unpublished the job and seen users_ drop to 0, so no
// worker can touch a finished job's context (it lives on run()'s caller's stack).
class ThreadPool::Workers {
 public:
  explicit Workers(int threads) : threads_(threads) {
    // Workers start from generation 0, not from whatever they read when they first run: a job (or the
    // destructor's stop) may already have bumped the generation by then, and must not be missed.
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this] { worker_loop(0); });
  }
  ~Workers() {
    stop_.store(true);
    wake_workers();
    for (std::thread& t : workers_)
      t.join();
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  int threads() const { return threads_; }

  void run(int64_t tasks, const void* context, TaskFn fn) {
    context_ = context;
    fn_ = fn;
    tasks_ = tasks;
    next_.store(0);
    error_ = nullptr;
    published_.store(true);
    wake_workers();
    work();
    published_.store(false);
    while (users_.load() != 0)
      cpu_relax();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Bumps the generation under the sleep mutex, so a worker between its predicate check and its sleep
  // cannot miss it. (std::atomic::wait was used here first; libstdc++ 12's version hung now and then.)
  void wake_workers() {
    {
      const std::lock_guard lock(sleep_mutex_);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
  }

  // Takes tasks until none are left.
  void work() {
    tl_in_region = true;
    for (int64_t task = next_.fetch_add(1); task < tasks_; task = next_.fetch_add(1)) {
      try {
        fn_(context_, task);
      } catch (...) {
        const std::lock_guard lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    tl_in_region = false;
  }

  void worker_loop(uint32_t seen) {
    while (true) {
      const auto spin_until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
      while (generation_.load() == seen && std::chrono::steady_clock::now() < spin_until) {
        for (int i = 0; i < 16; ++i)
          cpu_relax();
      }
      {
        std::unique_lock lock(sleep_mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
      }
      seen = generation_.load();
      if (stop_.load()) return;
      users_.fetch_add(1);
      if (published_.load()) work();
      users_.fetch_sub(1);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};  // bumped once per job; workers spin on it, then sleep on wake_
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<bool> published_{false};
  std::atomic<int> users_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> next_{0};
  // The current job; written by run() before `published_` is set, read by workers after they see it set.
  const void* context_ = nullptr;
  TaskFn fn_ = nullptr;
  int64_t tasks_ = 0;
  std::exception_ptr error_;
  std::mutex error_mutex_;
};

ThreadPool::ThreadPool() = default;
ThreadPool::~ThreadPool() = default;

void ThreadPool::run(int64_t tasks, int threads, const void* context, TaskFn fn) {
  if (threads < 1) {
    throw std::invalid_argument("ThreadPool::run: expected at least 1 thread, got " +
                                std::to_string(threads));
  }
  if (tasks <= 0) return;
  // Inline when there is nothing to share, when nested inside a task, or when another thread is using the
  // pool right now.
  std::unique_lock lock(mutex_, std::defer_lock);
  if (tasks == 1 || threads == 1 || tl_in_region || !lock.try_lock()) {
    if (lock.owns_lock()) lock.unlock();
    run_inline(tasks, context, fn);
    return;
  }
  if (!workers_ || workers_->threads() != threads) {
    workers_.reset();  // joins the old threads first
    workers_ = std::make_unique<Workers>(threads);
  }
  workers_->run(tasks, context, fn);
}

}  // namespace qg::util
