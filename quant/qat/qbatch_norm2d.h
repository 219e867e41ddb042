// QBatchNorm2d: a BatchNorm2d that does not directly follow a conv (after a ReLU or a pool, after another
// BatchNorm, or on the model input), quantized as the per-channel affine map it is in inference,
//
//     y = a[c] x + b[c],   a = gamma / sqrt(var + eps),   b = beta - mean a      (quant/bn_fold.h)
//
// and converted to the integer op runtime::MulAdd ("mul_add": TFLite lowers such a BatchNorm to MUL + ADD).
// A BatchNorm right after a conv is folded into it instead (QConvBNReLU).
//
// Statistics as QConvBNReLU's: in training mode the batch's (constants for the gradient, as in the tutorial;
// the running statistics are updated), unless frozen (set_bn_frozen, PyTorch's freeze_bn_stats); in eval
// mode the running ones.
//
// Fake quantization computes exactly what the integer op computes (runtime/ops/mul_add.h), with the input
// (S1, Z1), x = S1 (q1 - Z1):
// clang-format off
//
//   factor   q2[c] = round(a[c] / S2[c]) = ±127,  S2[c] = |a[c]| / 127  (1 where a[c] = 0; mul_add_codes)
//   bias     bias[c] = round(b[c] / (S1 S2[c])), int32: a grid 127 times finer than one input step
//   acc      y = S1 S2[c] (bias[c] + q2[c] (q1 - Z1))    the integer accumulator's exact value
//   output   [ReLU,] then the output point's requantize(y): M[c] = S1 S2[c] / S3, the runtime's fixed point
//
// clang-format on
// The factor's code carries only the sign of a[c] (its magnitude is in the per-channel multiplier M[c]),
// so a[c] loses nothing to its 8-bit code whatever the layer's bit widths. A bias that would need a code
// beyond kMulAddBiasCodeLimit widens S2[c] (runtime::bias_fitting_scales), in training and in the integer
// model alike.
//
// Backward: the straight-through estimator of y = a x + b: dy/dx = a[c], dy/da[c] = x, dy/db[c] = 1, and so
// dy/dgamma and dy/dbeta through a and b; the output point adds its own STE and step-size gradients.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nn/layers/batch_norm2d.h"
#include "quant/qat/qat_layer.h"
#include "runtime/ops/mul_add.h"

namespace qg::quant {

/// The largest |bias code| of a BatchNorm's mul_add: with |q2| <= 127 and |q1 - Z1| <= 255 every
/// accumulator stays below 2^21 + 2^15 < 2^22, so the fake-quant model, which carries it in float32 as
/// S1 S2[c] acc (relative error 2^-24), recovers it exactly (|error| < 1/4) when it requantizes.
inline constexpr double kMulAddBiasCodeLimit = 1 << 21;

/// The integer parameters of y = a x + b for the input scale S1 (what forward() and to_integer() share).
struct MulAddCodes {
  QParams factor;              // per channel (axis 0): S2[c], zero point 0, 8-bit signed symmetric
  std::vector<int16_t> codes;  // q2[c] in [-127, 127]
  std::vector<int32_t> bias;   // at S1 S2[c], |bias[c]| <= kMulAddBiasCodeLimit
};
/// `scale` and `shift` are a and b ([C] each). Throws NonFiniteObservation (quant/observer.h) naming the
/// channel when a[c] or b[c] is not finite (a diverged BatchNorm), std::invalid_argument when S1 is not
/// positive and finite.
MulAddCodes mul_add_codes(const std::vector<float>& scale, const std::vector<float>& shift,
                          float input_scale);

class QBatchNorm2d : public QatLayer {
 public:
  /// `quantize_input`: this layer quantizes the model input (no layer before it does); `relu`: a ReLU
  /// follows and is applied before the output point (fused into the integer clamp).
  QBatchNorm2d(std::shared_ptr<nn::BatchNorm2d> bn, bool quantize_input, const QuantSettings& settings,
               bool relu);
  /// [N, C, H, W] on the input grid -> [N, C, H, W] on the output grid.
  /// The patterns `batchnorm2d` (one that no conv2d precedes: that one is folded) and, under
  /// QuantSettings::fuse_relu, `batchnorm2d relu`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  Tensor forward(const Tensor& input) override;
  /// to_integer(step.input, fused_relu()), its clamp narrowed by a fused activation's.
  void convert(ConvertStep& step) const override;
  bool has_output_stage() const override { return true; }
  std::string type_name() const override { return relu_ ? "QBatchNormReLU2d" : "QBatchNorm2d"; }
  std::string describe() const override { return type_name() + "(" + bn->describe() + ")"; }
  const QuantPoint* output_point() const override { return output.get(); }
  bool fused_relu() const { return relu_; }

  void set_bn_frozen(bool frozen) override { bn_frozen_ = frozen; }
  bool bn_frozen() const { return bn_frozen_; }

  /// The integer op for this frozen layer with input quantization `input` (the frozen input point's), the
  /// running statistics, and a clamp at the output zero point when `relu` (this layer's fused ReLU, or a
  /// ReLU after it that convert() fuses).
  runtime::MulAdd to_integer(const runtime::QuantParams& input, bool relu) const;

  std::shared_ptr<nn::BatchNorm2d> bn;
  QuantPointPtr output;

 protected:
  std::vector<NamedQuantPoint> own_points() override { return {{"output", output.get()}}; }

 private:
  bool relu_;
  bool bn_frozen_ = false;
};

}  // namespace qg::quant
