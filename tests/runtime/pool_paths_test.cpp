// The integer runtime's fast pooling paths (runtime/ops/separable_pool.h) against the reference loops, on
// every window the ops accept: rectangular kernels 1..5 (and 7), strides 1..3, padding up to half the
// kernel, odd and even planes, several channels. A max and an integer sum are exact, so the two must agree
// exactly (EXPECT_EQ), rounding ties of the average included.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/ops/avg_pool2d.h"
#include "runtime/ops/max_pool2d.h"

namespace qg::runtime {
namespace {

std::vector<int32_t> random_codes(int64_t n, int32_t low, int32_t high, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> code(low, high);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t& x : v)
    x = code(rng);
  return v;
}

TEST(PoolFastPaths, EveryWindowAgreesWithTheReference) {
  std::mt19937 rng(5);
  const QuantParams quant{0.05, 7, 8, false};
  int windows = 0;
  for (const int64_t kh : {1, 2, 3, 5}) {
    for (const int64_t kw : {1, 2, 3, 4, 7}) {
      for (const int64_t stride : {1, 2, 3}) {
        for (int64_t ph = 0; ph <= kh / 2; ++ph) {
          for (const Dims& shape : {Dims{3, 9, 11}, Dims{2, 14, 14}, Dims{1, 7, 30}}) {
            const Window2d window{{kh, kw}, {stride, stride + (kw % 2)}, {ph, kw / 2}, {1, 1}};
            const MaxPool2d max_pool{window};
            const AvgPool2d avg_pool{window};
            Dims out_shape;
            try {
              out_shape = max_pool.output_shape(shape);
            } catch (const std::invalid_argument&) {
              continue;  // the window does not fit this plane
            }
            // Codes 0..255 with runs of equal values (ties of the max, even sums).
            std::vector<int32_t> codes = random_codes(shape[0] * shape[1] * shape[2], 0, 255, rng);
            for (size_t i = 0; i + 3 < codes.size(); i += 17)
              codes[i + 1] = codes[i + 2] = codes[i];
            const size_t outputs = static_cast<size_t>(out_shape[0] * out_shape[1] * out_shape[2]);
            std::vector<int32_t> expected(outputs), actual(outputs);
            const std::string what = window.describe() + " on " + dims_to_string(shape);
            max_pool2d_reference(max_pool, shape, codes, expected);
            max_pool2d_fast(max_pool, shape, codes, actual);
            EXPECT_EQ(actual, expected) << "max pool, " << what;
            avg_pool2d_reference(avg_pool, quant, shape, codes, expected);
            avg_pool2d_fast(avg_pool, quant, shape, codes, actual);
            EXPECT_EQ(actual, expected) << "avg pool, " << what;
            ++windows;
          }
        }
      }
    }
  }
  EXPECT_GT(windows, 300);
}

// A window as large as the plane (global average pooling, which the fast path sums in one pass), at any stride,
// with codes far below and above the zero point so that the sums are negative and positive.
TEST(PoolFastPaths, GlobalAverageAgreesWithTheReference) {
  std::mt19937 rng(6);
  int planes = 0;
  for (const Dims& shape : {Dims{5, 7, 7}, Dims{3, 1, 9}, Dims{2, 14, 13}, Dims{128, 4, 4}}) {
    for (const int32_t zero : {0, 3, 128, 250}) {
      const QuantParams quant{0.05, zero, 8, false};
      const AvgPool2d pool{Window2d{{shape[1], shape[2]}, {1 + planes % 3, 1}, {0, 0}, {1, 1}}};
      ASSERT_EQ(pool.output_shape(shape), (Dims{shape[0], 1, 1}));
      const std::vector<int32_t> codes = random_codes(shape[0] * shape[1] * shape[2], 0, 255, rng);
      std::vector<int32_t> expected(static_cast<size_t>(shape[0])), actual(expected.size());
      avg_pool2d_reference(pool, quant, shape, codes, expected);
      avg_pool2d_fast(pool, quant, shape, codes, actual);
      EXPECT_EQ(actual, expected) << dims_to_string(shape) << ", zero point " << zero;
      ++planes;
    }
  }
}

// Negative offsets (codes below the zero point) round away from zero in both paths: ties included.
TEST(PoolFastPaths, AverageRoundsTiesAwayFromZeroLikeTheReference) {
  const QuantParams quant{0.1, 100, 8, false};
  const AvgPool2d pool{Window2d{{2, 2}, {2, 2}, {0, 0}, {1, 1}}};
  // A [1, 2, 4] plane: window 0 has offsets -1, -1, 0, 0 (mean -0.5 -> -1), window 1 has 1, 1, 0, 0 (0.5 -> 1).
  const std::vector<int32_t> codes = {99, 99, 101, 101, 100, 100, 100, 100};
  std::vector<int32_t> expected(2), actual(2);
  avg_pool2d_reference(pool, quant, {1, 2, 4}, codes, expected);
  avg_pool2d_fast(pool, quant, {1, 2, 4}, codes, actual);
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(actual, (std::vector<int32_t>{99, 101}));
}

}  // namespace
}  // namespace qg::runtime
