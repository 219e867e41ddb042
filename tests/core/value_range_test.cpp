#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/kernels/value_range.h"
#include "core/kernels/views.h"
#include "core/parallel.h"

namespace qg::kernel {
namespace {

TEST(ValueRange, MatchesMinmaxElementOnEveryLength) {
  Generator gen(9);
  // Lengths around the vector width (8) and the task block (65536) exercise every tail.
  for (const int64_t n : {1, 7, 8, 9, 17, 65535, 65536, 65537, 200003}) {
    const Tensor x = Tensor::uniform({n}, -3.0f, 5.0f, gen);
    const std::vector<float> v = x.to_vector();
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const ValueRange r = value_range(x);
    EXPECT_EQ(r.min, *lo) << n;
    EXPECT_EQ(r.max, *hi) << n;
    EXPECT_TRUE(r.all_finite) << n;
  }
}

TEST(ValueRange, FindsNanAndInfWhereverTheyAre) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    for (const int64_t at : {0, 5, 8, 70000, 99999}) {
      std::vector<float> v(100000, 1.0f);
      v[static_cast<size_t>(at)] = bad;
      EXPECT_FALSE(value_range(Tensor::from_vector(v, {100000})).all_finite) << bad << " at " << at;
    }
  }
  // The largest finite floats are finite.
  const float big = std::numeric_limits<float>::max();
  const ValueRange r = value_range(Tensor::from_vector({-big, 0.0f, big}, {3}));
  EXPECT_TRUE(r.all_finite);
  EXPECT_EQ(r.min, -big);
  EXPECT_EQ(r.max, big);
}

TEST(ValueRange, ReadsStridedViewsAndRefusesEmptyTensors) {
  const Tensor x = Tensor::from_vector({1, 9, 2, 8, 3, 7}, {3, 2});
  const ValueRange r = value_range(transpose(x, 0, 1));
  EXPECT_EQ(r.min, 1.0f);
  EXPECT_EQ(r.max, 9.0f);
  EXPECT_THROW(value_range(Tensor::zeros({0, 3})), std::invalid_argument);
}

TEST(ValueRange, DoesNotDependOnTheThreadCount) {
  Generator gen(4);
  const Tensor x = Tensor::uniform({1 << 20}, -1.0f, 1.0f, gen);
  parallel::set_num_threads(1);
  const ValueRange one = value_range(x);
  parallel::set_num_threads(3);
  const ValueRange three = value_range(x);
  parallel::set_num_threads(2);
  EXPECT_EQ(one.min, three.min);
  EXPECT_EQ(one.max, three.max);
}

}  // namespace
}  // namespace qg::kernel
