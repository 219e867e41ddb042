// QuantizedWeights: the integer weight codes of a conv or linear layer and how they map to reals.
//
// Quantization is per tensor (one scale and zero point) or per output channel (one per row of
// dimension 0), r = scale[c] * (q - zero_point[c]). Codes of 1..8 bits are held as int16 in
// memory: wide enough for unsigned 8-bit codes (0..255) and signed ones alike, and the type the
// fast kernels multiply (int16 x int16 -> int32). The model file packs them at their bit width.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/dims.h"
#include "runtime/quant_params.h"

namespace qg::runtime {

struct QuantizedWeights {
  Dims shape;                  ///< conv [out, in/groups, kh, kw]; linear [out, in]
  std::vector<int16_t> codes;  ///< row-major, each in [qmin, qmax] of (bits, is_signed)
  int bits = 8;
  bool is_signed = false;
  std::vector<double> scales;        ///< 1 (per tensor) or shape[0] (per output channel)
  std::vector<int32_t> zero_points;  ///< same length as scales

  bool per_channel() const { return scales.size() > 1; }
  int64_t out_channels() const { return shape.empty() ? 0 : shape[0]; }
  /// Codes per output channel (the product of the remaining dimensions).
  int64_t row_size() const;
  /// The quantization of output channel `c` (the single one when per tensor).
  QuantParams channel_params(int64_t c) const;
  int32_t zero_point(int64_t c) const { return zero_points[per_channel() ? static_cast<size_t>(c) : 0]; }
  /// The largest |q - Z| over the code range and all channels: the weight factor of the overflow bound.
  int32_t max_abs_offset() const;
  /// The middle of the code range, m: q - m lies in [-128, 127] for 8 bits (0 for signed codes). The dot
  /// paths (ops/conv2d_dot.h, ops/linear_dot.h) multiply these centred codes.
  int32_t middle() const { return is_signed ? 0 : int32_t{1} << (bits - 1); }

  /// Throws std::invalid_argument starting with `what` unless the code count matches the shape, every
  /// code is in range, there are 1 or shape[0] (scale, zero point) pairs and each pair is valid.
  void validate(const std::string& what) const;
};

/// Offline: quantize float weights, q = clamp(round(w / S_c + Z_c), qmin, qmax), rounding half to even
/// as torch.round does in the tutorial. `scales`/`zero_points` hold one entry or one per shape[0] row.
QuantizedWeights quantize_weights(std::span<const float> values, const Dims& shape,
                                  std::vector<double> scales, std::vector<int32_t> zero_points, int bits,
                                  bool is_signed);

/// Offline: quantize a float bias to int32 at scale input_scale * weight_scales[c] and zero point 0
/// (the accumulator's scale), rounding half to even. Never saturates (a clamped bias is a wrong bias, and
/// a bound computed from it a wrong bound): when codes fall outside int32, throws std::invalid_argument
/// naming the bias that needs the largest code, its value, its scale and that code.
std::vector<int32_t> quantize_bias(std::span<const float> bias, double input_scale,
                                   const std::vector<double>& weight_scales);

/// The largest |code| bias_fitting_scales lets a bias take: half the int32 range, so that the products of
/// the accumulator (runtime/accumulator_bound.h) keep the other half.
inline constexpr double kBiasCodeLimit = 1 << 30;

/// The weight scales a layer needs for its bias to fit int32, ONNX Runtime's remedy for tiny weights next to
/// a large bias: a scale s_c whose bias would need a code beyond `code_limit` (> 0), |bias[c]| / (input_scale
/// s_c), is raised to the smallest float32 that brings it within (a single, per-tensor scale to the largest
/// of them); the others come back unchanged. The weights are then quantized at the wider scale: they lose
/// precision, but they are tiny next to the bias (the change of the layer's output, at most half a weight
/// step times K inputs, is about K A / (2 code_limit) of the bias).
std::vector<double> bias_fitting_scales(std::span<const float> bias, double input_scale,
                                        std::vector<double> weight_scales,
                                        double code_limit = kBiasCodeLimit);

}  // namespace qg::runtime
