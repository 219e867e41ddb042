#include "quant/integer_layer.h"

#include <cmath>

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "core/simd.h"

namespace qg::quant {

runtime::QuantParams to_runtime(const QParams& p) {
  if (p.per_channel()) throw std::invalid_argument("convert: activations must be quantized per tensor");
  return {static_cast<double>(p.scale[0]), p.zero_point[0], p.spec.bits, p.spec.is_signed};
}

int32_t code_of(float x, const runtime::QuantParams& q) {
  return q.zero_point + static_cast<int32_t>(std::lround(static_cast<double>(x) / q.scale));
}

namespace {

// std::lround(x[i] / scale) without the library call, so that the loop vectorises: v + copysign(h, v) with
// h = 0.5 - 2^-54 (the largest double below one half), truncated by the conversion to int32, rounds half away
// from zero like lround: adding exactly 0.5 would carry 0.49999999999999994 to 1 and, above 2^52, round odd
// integers up; h is too small for either (tests/quant/codes_of_test.cpp compares the two). Values beyond
// ±2^30, and NaN, are first bounded to ±2^30, so that the conversion to int32 is defined.
QG_SIMD_CLONES void rounded_quotients(const float* x, int64_t n, double scale, int32_t zero, int32_t* codes) {
  constexpr double kBound = 0x1p30, kBelowHalf = 0x1.fffffffffffffp-2;
  for (int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]) / scale;
    const double below = std::isless(v, kBound) ? v : kBound;  // NaN -> 2^30
    const double bounded = std::isgreater(below, -kBound) ? below : -kBound;
    codes[i] = zero + static_cast<int32_t>(bounded + std::copysign(kBelowHalf, bounded));
  }
}

}  // namespace

void codes_of(std::span<const float> x, const runtime::QuantParams& q, std::span<int32_t> codes) {
  assert(codes.size() == x.size());
  rounded_quotients(x.data(), static_cast<int64_t>(x.size()), q.scale, q.zero_point, codes.data());
}

runtime::QuantizedWeights weight_codes(const Tensor& weight, const QParams& qw) {
  runtime::QuantizedWeights w;
  w.shape = runtime::Dims(weight.shape().begin(), weight.shape().end());
  for (float code : quantize_codes(weight, qw).to_vector())
    w.codes.push_back(static_cast<int16_t>(code));
  w.bits = qw.spec.bits;
  w.is_signed = qw.spec.is_signed;
  w.scales.assign(qw.scale.begin(), qw.scale.end());
  w.zero_points = qw.zero_point;
  return w;
}

QuantizedAffine quantize_affine(const Tensor& weight, const Tensor& bias, const QParams& qw,
                                const runtime::QuantParams& input, const QParams& qo, bool fused_relu,
                                const std::string& layer) {
  const std::vector<float> b =
      bias.defined() ? bias.to_vector() : std::vector<float>(weight.shape()[0], 0.0f);
  QuantizedAffine a;
  a.weight = weight_codes(weight, qw);
  try {
    a.bias = runtime::quantize_bias(b, input.scale, a.weight.scales);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("convert: " + layer + ": " + e.what());
  }
  a.stage = runtime::OutputStage::make(input.scale, a.weight.scales, to_runtime(qo), fused_relu);
  return a;
}

void narrow_clamp(runtime::OutputStage& stage, const std::optional<ClampCodes>& clamp) {
  if (!clamp) return;
  stage.clamp_min = std::max(stage.clamp_min, clamp->min);
  stage.clamp_max = std::min(stage.clamp_max, clamp->max);
}

runtime::Window2d square_window(int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return {{kernel, kernel}, {stride, stride}, {padding, padding}, {dilation, dilation}};
}

runtime::Conv2d integer_conv2d(const nn::Conv2d& conv, const Tensor& weight, const Tensor& bias,
                               const QParams& qw, const QParams& qo, bool fused_relu,
                               const ConvertStep& step) {
  QuantizedAffine a = quantize_affine(weight, bias, qw, step.input, qo, fused_relu, step.name);
  narrow_clamp(a.stage, step.fused_clamp);
  runtime::Conv2d op;
  op.in_channels = conv.in_channels;
  op.out_channels = conv.out_channels;
  op.groups = conv.options.groups;
  op.window =
      square_window(conv.kernel_size, conv.options.stride, conv.options.padding, conv.options.dilation);
  op.input_quant = step.input;
  op.weight = std::move(a.weight);
  op.bias = std::move(a.bias);
  op.output_stage = std::move(a.stage);
  return op;
}

}  // namespace qg::quant
