#include "core/simd.h"

namespace qg::simd {

QG_SIMD_CLONES double plane_sum(const float* p, int64_t n) {
  Float8 lane = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    lane += load8(p + i);
  double total = 0.0;
  for (; i < n; ++i)
    total += p[i];
  return total + sum8(lane);
}

}  // namespace qg::simd
