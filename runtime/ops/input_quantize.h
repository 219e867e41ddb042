// InputQuantize: raw pixels or normalised floats -> the model's input codes.
//
// The dataset normalisation is folded in, so a deployed model eats raw uint8 pixels:
//     x = (p / 255 - mean[c]) / std[c]                (torchvision ToTensor + Normalize)
//     q = clamp(round(Z + x / S), qmin, qmax)          (round half to even, as torch.round in the tutorial)
// computed in double. Together with OutputDequantize this is the only place the integer mode touches
// floating point. A pixel can take only 256 values, so the fast kernel quantizes each (channel, value)
// pair once into a lookup table.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/dims.h"
#include "runtime/int_tensor.h"
#include "runtime/quant_params.h"

namespace qg::runtime {

struct InputQuantize {
  static constexpr const char* kName = "input";

  Dims shape;                       ///< one sample, e.g. [C,H,W] = [1,28,28]
  QuantParams quant;                ///< quantization of the model input
  std::vector<double> mean{0.0};    ///< 1 value or one per channel (shape[0])
  std::vector<double> stddev{1.0};  ///< same length as mean, each > 0

  /// Throws std::invalid_argument unless shape, quant and the normalisation are consistent.
  void validate() const;
  /// The channel (index into mean/stddev) of element `i` of one sample.
  int64_t channel_of(int64_t i) const;
  /// q = clamp(round(x / S + Z)) for a normalised value x, in float32 exactly as FakeQuantize computes it.
  int32_t quantize(float x) const;
  /// x = (pixel / 255 - mean[c]) / std[c], in float32 exactly as the DataLoader computes it.
  float normalize(uint8_t pixel, int64_t channel) const;
};

/// Pixels of N samples, each laid out like `shape` -> IntTensor [N, shape...], pixel by pixel.
/// Throws if the pixel count is not a multiple of the sample size.
IntTensor input_quantize_pixels_reference(const InputQuantize& op, std::span<const uint8_t> pixels);
/// Same result through a [channels][256] lookup table.
IntTensor input_quantize_pixels_fast(const InputQuantize& op, std::span<const uint8_t> pixels);
/// Already-normalised floats (what the float fake-quant model sees) -> IntTensor [N, shape...].
IntTensor input_quantize_normalized(const InputQuantize& op, std::span<const float> values);

}  // namespace qg::runtime
