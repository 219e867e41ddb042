#include "quant/fake_quantize_run.h"

#include <algorithm>
#include <cmath>

#include "core/simd.h"

namespace qg::quant {

namespace {

// q = round(x / s + Z), half to even; inlined into each instruction set's clone of the loops below.
[[gnu::always_inline]] inline float unclamped_code(float x, float s, float zero_point) {
  return std::nearbyint(x / s + zero_point);
}

}  // namespace

// Two loops rather than a test of in_range per element: each vectorises on its own. The mask compares the
// clamped code with q, which is 1 exactly when qmin <= q <= qmax and 0 for NaN (NaN equals nothing).
QG_SIMD_CLONES void fake_quantize_run(const float* x, int64_t n, float s, int32_t zero_point, float qmin,
                                      float qmax, float* x_hat, float* in_range) {
  const auto z = static_cast<float>(zero_point);
  if (in_range == nullptr) {
    for (int64_t i = 0; i < n; ++i)
      x_hat[i] = (std::clamp(unclamped_code(x[i], s, z), qmin, qmax) - z) * s;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float q = unclamped_code(x[i], s, z);
    const float clamped = std::clamp(q, qmin, qmax);
    x_hat[i] = (clamped - z) * s;
    in_range[i] = clamped == q ? 1.0f : 0.0f;
  }
}

QG_SIMD_CLONES void quantize_codes_run(const float* x, int64_t n, float s, int32_t zero_point, float qmin,
                                       float qmax, float* codes) {
  const auto z = static_cast<float>(zero_point);
  for (int64_t i = 0; i < n; ++i)
    codes[i] = std::clamp(unclamped_code(x[i], s, z), qmin, qmax);
}

}  // namespace qg::quant
