// Affine quantization parameters: a real value r is represented by an integer code q with
//     r = scale * (q - zero_point),   q in [qmin, qmax]
// (Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
// Inference"). Unsigned b-bit codes span [0, 2^b - 1], signed ones [-2^(b-1), 2^(b-1) - 1].
// Per-tensor parameters have one scale/zero point; per-channel ones have one per slice along `axis`
// (the output-channel axis 0 of a weight).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qg::quant {

/// A signed 1-bit code is a sign: the binary codes {-1, +1} of XNOR-Net (Rastegari et al. 2016), real
/// values {-S, +S}; 0 is not a code. Only weights can be binary (an activation needs real 0 as a code).
struct QuantSpec {
  int bits = 8;            // 1..8
  bool is_signed = false;  // the tutorial quantizes everything unsigned
  bool symmetric = false;  // zero point fixed at the middle (0 for signed codes)

  int32_t qmin() const { return is_signed ? -(1 << (bits - 1)) : 0; }
  int32_t qmax() const { return is_signed ? (binary() ? 1 : (1 << (bits - 1)) - 1) : (1 << bits) - 1; }
  bool binary() const { return bits == 1 && is_signed; }
  /// Throws std::invalid_argument unless 1 <= bits <= 8.
  void validate() const;
};

/// The binary code of v: +1 for v >= 0, -1 below, and NaN for NaN (so that a NaN is not hidden).
inline float binary_code(float v) {
  return v >= 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v);
}

struct QParams {
  std::vector<float> scale;         // size 1 (per tensor) or C (per channel)
  std::vector<int32_t> zero_point;  // same size as scale
  QuantSpec spec;
  int64_t axis = -1;  // -1 = per tensor; otherwise the channel axis

  bool per_channel() const { return axis >= 0; }
  size_t channels() const { return scale.size(); }
  std::string describe() const;
};

/// Scale and zero point that map [min, max] onto [qmin, qmax]. The range is first widened to include 0
/// (min <= 0 <= max) so that real zero, used by padding and ReLU, is exactly representable.
///   asymmetric: scale = (max - min) / (qmax - qmin),   zero_point = round(qmax - max / scale), clamped to [qmin, qmax]
///   symmetric:  scale = max(|min|, |max|) / ((qmax - qmin) / 2),  zero_point = 0 (signed) or the middle code
/// Degenerate ranges (all zeros, or a range too small to divide by) get scale 1 — any scale represents 0
/// exactly — and the zero point of the formula; never a division by zero or a NaN. For b = 1 the same
/// formulas hold with qmax - qmin = 1.
void compute_scale_zero_point(float min, float max, const QuantSpec& spec, float& scale, int32_t& zero_point);

QParams make_per_tensor(float min, float max, const QuantSpec& spec);
QParams make_per_channel(const std::vector<float>& mins, const std::vector<float>& maxs,
                         const QuantSpec& spec, int64_t axis = 0);

}  // namespace qg::quant
