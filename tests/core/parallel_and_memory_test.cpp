// The machinery under the fast kernels: parallel_for (core/parallel.h), the buffer cache and the
// uninitialised tensor factory (core/buffer_cache.h, core/tensor.h), and gemm split across threads.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/blas.h"
#include "core/buffer_cache.h"
#include "core/parallel.h"
#include "core/tensor.h"

namespace qg {
namespace {

// Restores the thread count a test changed.
struct ThreadCount {
  explicit ThreadCount(int threads) : saved(parallel::num_threads()) { parallel::set_num_threads(threads); }
  ~ThreadCount() { parallel::set_num_threads(saved); }
  int saved;
};

TEST(ParallelFor, RunsEveryTaskExactlyOnce) {
  for (const int threads : {1, 2, 3}) {
    const ThreadCount scope(threads);
    for (const int64_t tasks : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{1000}}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(tasks));
      parallel::parallel_for(tasks, [&](int64_t t) { runs[static_cast<size_t>(t)].fetch_add(1); });
      for (int64_t t = 0; t < tasks; ++t)
        EXPECT_EQ(runs[static_cast<size_t>(t)].load(), 1)
            << "task " << t << " of " << tasks << ", " << threads << " threads";
    }
  }
}

TEST(ParallelFor, NestedCallsRunInlineOnTheCallingThread) {
  const ThreadCount scope(2);
  std::atomic<int> inner_runs{0}, inner_outside_region{0};
  parallel::parallel_for(4, [&](int64_t) {
    parallel::parallel_for(3, [&](int64_t) {
      inner_runs.fetch_add(1);
      if (!parallel::in_parallel_region()) inner_outside_region.fetch_add(1);
    });
  });
  EXPECT_EQ(inner_runs.load(), 12);
  EXPECT_EQ(inner_outside_region.load(), 0);
  EXPECT_FALSE(parallel::in_parallel_region());
}

TEST(ParallelFor, RethrowsATaskExceptionAfterTheOtherTasksRan) {
  for (const int threads : {1, 2}) {
    const ThreadCount scope(threads);
    std::atomic<int> runs{0};
    EXPECT_THROW(parallel::parallel_for(20,
                                        [&](int64_t t) {
                                          runs.fetch_add(1);
                                          if (t == 3) throw std::runtime_error("task 3 failed");
                                        }),
                 std::runtime_error);
    EXPECT_EQ(runs.load(), 20) << threads << " threads";
    // The pool is still usable afterwards.
    std::atomic<int> later{0};
    parallel::parallel_for(5, [&](int64_t) { later.fetch_add(1); });
    EXPECT_EQ(later.load(), 5);
  }
}

TEST(ParallelFor, RejectsAZeroThreadCount) {
  EXPECT_THROW(parallel::set_num_threads(0), std::invalid_argument);
  EXPECT_GE(parallel::num_threads(), 1);
}

TEST(BufferCache, RecyclesLargeBlocksAndZerosStillZeroes) {
  const Shape shape{64, 40, 26, 26};  // about 7 MB: cached
  const buffer_cache::Stats before = buffer_cache::stats();
  {
    Tensor dirty = Tensor::full(shape, 7.0f);
    EXPECT_EQ(dirty.data()[12345], 7.0f);
  }
  const Tensor again = Tensor::zeros(shape);  // the same block comes back: it must be zeroed again
  EXPECT_GT(buffer_cache::stats().hits, before.hits);
  const std::vector<float> values = again.to_vector();
  size_t nonzero = 0;
  for (float v : values)
    nonzero += v != 0.0f;
  EXPECT_EQ(nonzero, 0u);
}

TEST(BufferCache, BlocksAreAlignedForVectors) {
  for (const int64_t n : {int64_t{1}, int64_t{100}, int64_t{1} << 20}) {
    const Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u) << n;
  }
}

TEST(BufferCache, ReleaseEmptiesTheCache) {
  { const Tensor t = Tensor::empty({1 << 20}); }
  EXPECT_GT(buffer_cache::stats().cached_bytes, 0u);
  buffer_cache::release();
  EXPECT_EQ(buffer_cache::stats().cached_bytes, 0u);
}

TEST(BufferCache, BufferValueInitialisationIsSkippedButFillIsNot) {
  Buffer<float> filled(1000, 2.5f);
  for (float v : filled)
    ASSERT_EQ(v, 2.5f);
  Buffer<int32_t> sized(10);
  EXPECT_EQ(sized.size(), 10u);
}

TEST(Tensor, EmptyHasTheShapeAndIsContiguous) {
  const Tensor t = Tensor::empty({3, 4, 5});
  EXPECT_EQ(t.shape(), (Shape{3, 4, 5}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_THROW(Tensor::empty({2, -1}), std::invalid_argument);
}

// gemm splits a large product into blocks of C, one per thread: the same values as one single product.
TEST(Blas, SplitProductMatchesTheSingleThreadedOne) {
  Generator gen(3);
  for (const bool transpose_a : {false, true}) {
    for (const bool transpose_b : {false, true}) {
      const int m = 300, n = 257, k = 100;
      const Tensor a = Tensor::uniform({transpose_a ? k : m, transpose_a ? m : k}, -1, 1, gen);
      const Tensor b = Tensor::uniform({transpose_b ? n : k, transpose_b ? k : n}, -1, 1, gen);
      Tensor one = Tensor::zeros({m, n}), split = Tensor::zeros({m, n});
      const int lda = transpose_a ? m : k, ldb = transpose_b ? k : n;
      {
        const ThreadCount scope(1);
        blas::gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, one.data(),
                   n);
      }
      {
        const ThreadCount scope(3);
        blas::gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, split.data(),
                   n);
      }
      const std::vector<float> x = one.to_vector(), y = split.to_vector();
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_NEAR(x[i], y[i], 1e-4f) << i;
    }
  }
}

}  // namespace
}  // namespace qg
