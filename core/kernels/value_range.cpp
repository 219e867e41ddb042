#include "core/kernels/value_range.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "core/parallel.h"
#include "core/simd.h"

namespace qg::kernel {

namespace {

constexpr int64_t kBlock = 1 << 16;  // values per task

using Int8 = int32_t __attribute__((vector_size(32)));

// A float is NaN or +-Inf exactly when its eight exponent bits are all ones.
constexpr int32_t kExponentMask = 0x7f800000;

QG_SIMD_CLONES
ValueRange scan(const float* v, int64_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  simd::Float8 lo = {kInf, kInf, kInf, kInf, kInf, kInf, kInf, kInf};
  simd::Float8 hi = -lo;
  Int8 special = {};  // lanes become -1 where a non-finite value was seen
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const simd::Float8 x = simd::load8(v + i);
    Int8 bits;
    std::memcpy(&bits, &x, sizeof bits);
    special |= (bits & kExponentMask) == kExponentMask;
    // A NaN compares false both ways and is skipped here, but `special` has seen it.
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
  }
  ValueRange r{kInf, -kInf, true};
  for (int lane = 0; lane < 8; ++lane) {
    r.min = std::min(r.min, lo[lane]);
    r.max = std::max(r.max, hi[lane]);
    r.all_finite = r.all_finite && special[lane] == 0;
  }
  for (; i < n; ++i) {
    int32_t bits;
    std::memcpy(&bits, v + i, sizeof bits);
    if ((bits & kExponentMask) == kExponentMask) r.all_finite = false;
    if (v[i] < r.min) r.min = v[i];
    if (v[i] > r.max) r.max = v[i];
  }
  return r;
}

}  // namespace

ValueRange value_range(const Tensor& x) {
  if (x.numel() == 0) throw std::invalid_argument("value_range: the tensor is empty");
  const Tensor c = x.contiguous();
  const int64_t n = c.numel();
  const int64_t tasks = parallel::task_count(n, kBlock);
  std::vector<ValueRange> parts(static_cast<size_t>(tasks));
  parallel::parallel_for(tasks, [&](int64_t task) {
    const int64_t begin = task * kBlock;
    parts[static_cast<size_t>(task)] = scan(c.data() + begin, std::min(kBlock, n - begin));
  });
  ValueRange r = parts[0];
  for (const ValueRange& p : parts) {
    r.min = std::min(r.min, p.min);
    r.max = std::max(r.max, p.max);
    r.all_finite = r.all_finite && p.all_finite;
  }
  return r;
}

std::optional<int64_t> first_non_finite(const Tensor& x) {
  if (x.numel() == 0 || value_range(x).all_finite) return std::nullopt;
  const Tensor c = x.contiguous();
  for (int64_t i = 0; i < c.numel(); ++i) {
    if (!std::isfinite(c.data()[i])) return i;
  }
  return std::nullopt;
}

}  // namespace qg::kernel
