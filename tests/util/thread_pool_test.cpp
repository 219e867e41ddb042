// util::ThreadPool: every task once, on at most the threads asked for, nested calls inline, exceptions.
#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace qg::util {
namespace {

TEST(ThreadPool, RunsEveryTaskExactlyOnceWhateverTheThreadCount) {
  ThreadPool pool;
  for (const int threads : {1, 2, 3, 8, 2}) {
    for (const int64_t tasks : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(tasks));
      pool.parallel_for(tasks, threads, [&](int64_t t) { runs[static_cast<size_t>(t)].fetch_add(1); });
      for (int64_t t = 0; t < tasks; ++t)
        ASSERT_EQ(runs[static_cast<size_t>(t)].load(), 1) << threads << " threads, task " << t;
    }
  }
}

TEST(ThreadPool, UsesAtMostTheThreadsAskedFor) {
  ThreadPool pool;
  for (const int threads : {1, 3, 2}) {
    std::mutex mutex;
    std::set<std::thread::id> seen;
    pool.parallel_for(200, threads, [&](int64_t) {
      const std::lock_guard lock(mutex);
      seen.insert(std::this_thread::get_id());
      std::this_thread::yield();
    });
    EXPECT_LE(static_cast<int>(seen.size()), threads);
    EXPECT_TRUE(seen.count(std::this_thread::get_id())) << "the caller works too";
  }
}

TEST(ThreadPool, NestedCallsRunInlineAndOtherPoolsSeeTheRegion) {
  ThreadPool outer, inner;
  std::atomic<int> inline_runs{0};
  outer.parallel_for(4, 2, [&](int64_t) {
    const std::thread::id caller = std::this_thread::get_id();
    inner.parallel_for(3, 2, [&](int64_t) {
      if (std::this_thread::get_id() == caller && in_parallel_region()) inline_runs.fetch_add(1);
    });
  });
  EXPECT_EQ(inline_runs.load(), 12);
  EXPECT_FALSE(in_parallel_region());
}

TEST(ThreadPool, RethrowsTheFirstExceptionAfterTheOtherTasksRan) {
  ThreadPool pool;
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.parallel_for(20, 3,
                                 [&](int64_t t) {
                                   ran.fetch_add(1);
                                   if (t == 5) throw std::runtime_error("task 5");
                                 }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 20);
  std::atomic<int> later{0};
  pool.parallel_for(5, 3, [&](int64_t) { later.fetch_add(1); });  // the pool still works
  EXPECT_EQ(later.load(), 5);
  EXPECT_THROW(pool.parallel_for(2, 0, [](int64_t) {}), std::invalid_argument);
}

}  // namespace
}  // namespace qg::util
