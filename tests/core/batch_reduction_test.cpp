// The halving tree of core/batch_reduction.h: its order (the property data-parallel reproducibility rests
// on), both ways of computing it, and matmul_row_by_row.
#include "core/batch_reduction.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/kernels/matmul.h"
#include "core/kernels/views.h"
#include "core/random.h"

namespace qg {
namespace {

// Values whose float sum depends on the order of the additions.
std::vector<float> awkward_values(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = (i % 3 == 0 ? 1e8f : (i % 3 == 1 ? -1e8f : 1.0f)) * (1.0f + 0.001f * i);
  return v;
}

// S(a, b) spelled out recursively, as the header defines it.
float halving_tree(const std::vector<float>& v, size_t a, size_t b) {
  if (b - a == 1) return v[a];
  const size_t m = a + (b - a) / 2;
  return halving_tree(v, a, m) + halving_tree(v, m, b);
}

TEST(BatchReduction, TreeSumIsTheHalvingTree) {
  for (const int64_t n : {1, 2, 3, 5, 7, 8, 30, 64}) {
    const std::vector<float> values = awkward_values(n);
    std::vector<float> partials = values;
    batch_reduction::tree_sum(partials.data(), n, 1);
    EXPECT_EQ(partials[0], halving_tree(values, 0, values.size())) << n << " partials";
    float out = 0.0f;
    batch_reduction::tree_sum_of(
        n, 1, [&](int64_t i, float* o) { *o = values[static_cast<size_t>(i)]; }, &out);
    EXPECT_EQ(out, partials[0]) << n << " leaves, depth first";
  }
}

// The property data-parallel training relies on: a process's shard [a, b) summed on its own, then the
// shards' sums added in the halving tree over the processes, is the tree over the whole batch, for N a
// power of two and BatchShard's cut floor(r n / N) (uneven shards included).
TEST(BatchReduction, PowerOfTwoShardsAreSubtrees) {
  for (const int64_t n : {8, 30, 31, 62, 63, 64}) {
    const std::vector<float> values = awkward_values(n);
    const float whole = halving_tree(values, 0, values.size());
    for (const int64_t ranks : {2, 4}) {
      std::vector<float> shard_sums;
      for (int64_t r = 0; r < ranks; ++r) {
        const auto begin = static_cast<size_t>(r * n / ranks), end = static_cast<size_t>((r + 1) * n / ranks);
        std::vector<float> shard(values.begin() + begin, values.begin() + end);
        batch_reduction::tree_sum(shard.data(), static_cast<int64_t>(shard.size()), 1);
        shard_sums.push_back(shard[0]);
      }
      batch_reduction::tree_sum(shard_sums.data(), ranks, 1);
      EXPECT_EQ(shard_sums[0], whole) << n << " values over " << ranks << " shards";
    }
  }
  // A sequential sum is not split-invariant: the test values above can tell (else the test proves nothing).
  const std::vector<float> values = awkward_values(30);
  float sequential = 0.0f;
  for (const float v : values)
    sequential += v;
  EXPECT_NE(sequential, halving_tree(values, 0, values.size()));
}

TEST(BatchReduction, TreeSumAddsWholeBuffersElementWise) {
  std::vector<double> partials{1, 10, 2, 20, 3, 30};  // 3 partials of 2 values
  batch_reduction::tree_sum(partials.data(), 3, 2);
  EXPECT_EQ(partials[0], 6.0);
  EXPECT_EQ(partials[1], 60.0);
}

TEST(BatchReduction, SwitchAndHookAreScoped) {
  EXPECT_FALSE(batch_reduction::split_invariant());
  {
    const batch_reduction::ScopedSplitInvariant on;
    EXPECT_TRUE(batch_reduction::split_invariant());
  }
  EXPECT_FALSE(batch_reduction::split_invariant());
  struct Doubling : batch_reduction::CrossProcessSum {
    void sum(std::span<float> v) const override {
      for (float& x : v)
        x *= 2;
    }
    void sum(std::span<double> v) const override {
      for (double& x : v)
        x *= 2;
    }
  } doubling;
  std::vector<double> v{1.5};
  batch_reduction::cross_process_sum(v);  // none installed: unchanged
  EXPECT_EQ(v[0], 1.5);
  {
    const batch_reduction::ScopedCrossProcessSum installed(&doubling);
    EXPECT_TRUE(batch_reduction::cross_process_sum_installed());
    batch_reduction::cross_process_sum(v);
    const batch_reduction::ScopedCrossProcessSum none(nullptr);
    batch_reduction::cross_process_sum(v);
  }
  EXPECT_EQ(v[0], 3.0);
  EXPECT_FALSE(batch_reduction::cross_process_sum_installed());
}

// Each row of matmul_row_by_row depends on that row alone: the product of a batch's second half is the
// second half of the whole batch's product, bit for bit; and it is the same product as matmul.
TEST(BatchReduction, RowByRowMatmulRowsDoNotDependOnTheOtherRows) {
  Generator gen(3);
  const Tensor a = Tensor::uniform({64, 300}, -1, 1, gen), b = Tensor::uniform({300, 10}, -1, 1, gen);
  const Tensor whole = kernel::matmul_row_by_row(a, b);
  const Tensor half = kernel::matmul_row_by_row(kernel::narrow(a, 0, 32, 32).contiguous(), b);
  EXPECT_EQ(std::memcmp(whole.data() + 32 * 10, half.data(), 32 * 10 * sizeof(float)), 0);
  const std::vector<float> x = whole.to_vector(), y = kernel::matmul(a, b).to_vector();
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(x[i], y[i], 1e-4) << i;
}

}  // namespace
}  // namespace qg
