// exercise qparams (chapter 4): scale and zero point from (min, max, bits), as the observers compute them
//
// An observer watches a tensor, keeps its range [min, max] and turns it into the affine parameters
//     r = scale * (q - zero_point),   q an integer code in [qmin, qmax]
// (Jacob et al. 2018, section 2.1; quant/qparams.h). Write
//     compute_scale_zero_point(min, max, spec, scale, zero_point)
// exactly as qg::quant::compute_scale_zero_point does, so that every observer could call yours:
//
// clang-format off
//   1. spec.validate() (bits in 1..8), and throw std::invalid_argument for a non-finite min or max.
//   2. Widen the range to contain 0: min = min(min, 0), max = max(max, 0). Real 0 (padding, ReLU's zeros)
//      must be a code exactly.
//   3. qmin = spec.qmin(), qmax = spec.qmax(), as doubles.
//      asymmetric:  scale = (max - min) / (qmax - qmin)
//      symmetric, or spec.binary():
//                   scale = max(-min, max) / ((qmax - qmin) / 2)
//                   zero_point = 0 for signed codes, ceil((qmin + qmax) / 2) for unsigned ones
//      Compute in double and store scale as float.
//   4. If the float scale is not > FLT_MIN (std::numeric_limits<float>::min()), e.g. min == max == 0,
//      use scale = 1: any scale represents 0 exactly, and nothing may divide by 0.
//   5. asymmetric only: zero_point = round(qmax - max / scale), with the float scale widened to double,
//      rounding half to EVEN (std::nearbyint, like torch.round), then clamped to [qmin, qmax].
// clang-format on
//
// The check (exercises/qparams/check.cpp) compares your scale (to 1e-6 relative) and zero point (exactly)
// with the library's for every bit width 1..8, signed and unsigned, asymmetric and symmetric, on random
// ranges and the edge cases: all-positive and all-negative ranges, min == max, zero ranges, and zero points
// that land exactly on .5 (is your rounding half to even?). Run it with: scripts/exercise check qparams
#include <stdexcept>

#include "exercises/qparams/qparams.h"

namespace exercise {

void compute_scale_zero_point(float min, float max, const qg::quant::QuantSpec& spec, float& scale,
                              int32_t& zero_point) {
  (void)min, (void)max, (void)spec, (void)scale, (void)zero_point;
  throw std::logic_error("exercise qparams: not written yet");
}

}  // namespace exercise
