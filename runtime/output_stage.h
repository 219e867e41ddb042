// OutputStage: how a conv or linear layer turns its int32 accumulators into output codes.
//
//     q3 = clamp(Z3 + M_c * acc, clamp_min, clamp_max),   M_c = S1 * S2[c] / S3
//
// with one multiplier per output channel c (or one for the whole layer when the weights are quantized
// per tensor). `acc` already contains the int32 bias. Clamping with clamp_min = Z3 is a fused ReLU:
// codes below Z3 are real values below 0 (gemmlowp calls this chain of steps the "output stage").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/quant_params.h"
#include "runtime/requantize.h"

namespace qg::runtime {

/// Which requantization the conv/linear layers use (the only difference between the two modes).
enum class RequantMode {
  Integer,         ///< fixed-point multiply_by_quantized_multiplier: the deployable integer-only path
  FloatReference,  ///< the tutorial's float simulation: round(M * acc) in double (requantize_reference)
};

struct OutputStage {
  std::vector<double> real_multipliers;          ///< M_c, used by RequantMode::FloatReference
  std::vector<QuantizedMultiplier> multipliers;  ///< quantize_multiplier(M_c), used by RequantMode::Integer
  QuantParams output;                            ///< (S3, Z3, bits, signedness) of the layer's output
  int32_t clamp_min = 0;                         ///< within [output.qmin(), output.qmax()]
  int32_t clamp_max = 255;

  /// Offline: the stage of a layer with input scale S1, weight scales S2 (one, or one per output
  /// channel) and output params. `fused_relu` clamps at output.zero_point instead of output.qmin().
  static OutputStage make(double input_scale, const std::vector<double>& weight_scales,
                          const QuantParams& output, bool fused_relu);

  /// Throws std::invalid_argument starting with `what` unless the stage has `channels` multipliers (or one),
  /// each real multiplier is finite, >= 0 and its fixed-point form equals quantize_multiplier() of it,
  /// the output params are valid and clamp_min <= clamp_max lie within the output code range.
  void validate(int64_t channels, const std::string& what) const;

  bool per_channel() const { return multipliers.size() > 1; }

  /// The output code of output channel `channel` for accumulator `acc`.
  int32_t apply(int32_t acc, int64_t channel, RequantMode mode) const {
    const size_t c = per_channel() ? static_cast<size_t>(channel) : 0;
    if (mode == RequantMode::Integer)
      return requantize_to_code(acc, multipliers[c], output.zero_point, clamp_min, clamp_max);
    const int64_t code = int64_t{requantize_reference(acc, real_multipliers[c])} + output.zero_point;
    return static_cast<int32_t>(code < clamp_min ? clamp_min : (code > clamp_max ? clamp_max : code));
  }
};

}  // namespace qg::runtime
