// Helpers the kernel tests share: a scoped thread count, a tensor's bits (for bit-for-bit comparisons),
// a max pool's argmax as one list, and an element-wise closeness check relative to the largest value.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/kernels/pool.h"
#include "core/parallel.h"
#include "core/tensor.h"

namespace qg::test {

/// Sets the pool's thread count for the scope, then restores it.
struct ThreadCount {
  explicit ThreadCount(int threads) : saved(parallel::num_threads()) { parallel::set_num_threads(threads); }
  ~ThreadCount() { parallel::set_num_threads(saved); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;
  int saved;
};

/// Each element's bit pattern (empty for an undefined tensor).
inline std::vector<uint32_t> bits_of(const Tensor& t) {
  std::vector<uint32_t> out;
  if (!t.defined()) return out;
  for (const float v : t.to_vector())
    out.push_back(std::bit_cast<uint32_t>(v));
  return out;
}

/// Both argmax widths' entries, one after the other (one of them is empty).
inline std::vector<int64_t> argmax_of(const kernel::MaxPool2dArgmax& a) {
  std::vector<int64_t> out(a.small.begin(), a.small.end());
  out.insert(out.end(), a.large.begin(), a.large.end());
  return out;
}

/// |a - e| <= tol * max(1, max |e|) for every element.
inline void expect_close(const Tensor& actual, const Tensor& expected, const std::string& what,
                         double tol = 2e-5) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const std::vector<float> a = actual.to_vector(), e = expected.to_vector();
  double scale = 1.0;
  for (const float v : e)
    scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], e[i], tol * scale)
        << what << " at element " << i << " of " << to_string(expected.shape());
  }
}

}  // namespace qg::test
