// The percentile observer's histogram (issue 10, item 9) against the definition: every value observed,
// sorted, and the value of each rank read off that list.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "quant/observers/histogram.h"
#include "quant/observers/percentile_observer.h"

namespace qg::quant {
namespace {

// Adds `batch` to the histogram and to the reference list.
void add(Histogram& h, std::vector<float>& all, const std::vector<float>& batch) {
  const auto [lo, hi] = std::minmax_element(batch.begin(), batch.end());
  h.add(Tensor::from_vector(batch, {static_cast<int64_t>(batch.size())}), *lo, *hi);
  all.insert(all.end(), batch.begin(), batch.end());
}

std::vector<float> uniform(Generator& gen, int64_t n, float low, float high) {
  return Tensor::uniform({n}, low, high, gen).to_vector();
}

// Batches whose range grows above, below and on both sides (each growth merges bins), a batch of one
// repeated value, and an outlier: the smallest and largest values come back exactly, every rank within one
// (final) bin width of the true value, in order.
// Every rank of `h` against the sorted list: the smallest and largest exact, the others within one bin
// width, in order; and the counts add up.
void expect_ranks(const Histogram& h, std::vector<float> all) {
  std::sort(all.begin(), all.end());
  ASSERT_EQ(h.count(), all.size());
  const Histogram::State s = h.state();
  uint64_t total = 0;
  for (const uint64_t c : s.counts)
    total += c;
  EXPECT_EQ(total, all.size());
  EXPECT_EQ(h.value_at_rank(0), all.front());
  EXPECT_EQ(h.value_at_rank(all.size() - 1), all.back());
  float previous = all.front();
  for (size_t k = 0; k < all.size(); ++k) {
    const float v = h.value_at_rank(k);
    EXPECT_NEAR(v, all[k], s.width) << "rank " << k;
    EXPECT_GE(v, previous) << "rank " << k;
    previous = v;
  }
}

// Batches whose range grows above, below and on both sides (each growth merges whole bins), a batch of one
// repeated value, then an outlier.
TEST(Histogram, EveryRankIsWithinOneBinOfTheSortedValues) {
  Generator gen(5);
  Histogram h(64);
  std::vector<float> all;
  add(h, all, uniform(gen, 1000, 0.0f, 1.0f));
  add(h, all, uniform(gen, 1000, 0.5f, 3.0f));
  add(h, all, uniform(gen, 1000, -2.0f, 0.1f));
  add(h, all, std::vector<float>(50, 0.25f));
  add(h, all, uniform(gen, 1000, -10.0f, 50.0f));
  EXPECT_LT(h.state().width, 2.0) << "a growth by whole old bins stays close to the span / bins";
  expect_ranks(h, all);
  add(h, all, {1e4f});
  expect_ranks(h, all);
}

TEST(Histogram, OneRepeatedValueThenASpreadKeepsItExact) {
  Histogram h(2048);
  std::vector<float> all;
  add(h, all, std::vector<float>(10, 5.0f));
  EXPECT_EQ(h.value_at_rank(0), 5.0f);
  EXPECT_EQ(h.value_at_rank(9), 5.0f);
  add(h, all, {1.0f, 9.0f});
  EXPECT_EQ(h.value_at_rank(0), 1.0f);
  for (uint64_t k = 1; k <= 10; ++k)
    EXPECT_EQ(h.value_at_rank(k), 5.0f) << k;
  EXPECT_EQ(h.value_at_rank(11), 9.0f);
  EXPECT_THROW(h.value_at_rank(12), std::out_of_range);
}

// The observer's range is the nearest-rank percentile of everything seen: 2^18 normal values and 26
// outliers at 100 (0.01 %), at p = 99.9 the outliers are clipped and the range is within a bin of the exact
// percentiles of the sorted list.
TEST(PercentileObserver, RangeIsTheExactPercentileWithinOneBin) {
  Generator gen(9);
  PercentileObserver obs({8}, 99.9);
  std::vector<float> all;
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<float> v = Tensor::randn({1 << 16}, gen).to_vector();
    if (batch == 2) std::fill(v.begin(), v.begin() + 26, 100.0f);
    obs.observe(Tensor::from_vector(v, {1 << 16}));
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  const auto rank = [&](double p) {
    return all[static_cast<size_t>(std::llround(p / 100.0 * (all.size() - 1)))];
  };
  const double width = obs.state().scalars["width"];
  const auto [lo, hi] = obs.range();
  EXPECT_NEAR(lo, rank(0.1), width);
  EXPECT_NEAR(hi, rank(99.9), width);
  EXPECT_LT(hi, 4.0f) << "the outliers are clipped";
  EXPECT_EQ(obs.range(), std::make_pair(lo, hi)) << "read twice, the same range";
}

}  // namespace
}  // namespace qg::quant
