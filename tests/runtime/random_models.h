// Test helpers: random quantization parameters, layers, models and inputs for the runtime tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "runtime/model.h"
#include "runtime/quantized_weights.h"

namespace qg::runtime::testing {

// A binary (signed 1-bit) grid has zero point 0; other grids a random zero point in range.
inline QuantParams random_quant(std::mt19937& rng, int bits, bool is_signed) {
  QuantParams q{1.0, 0, bits, is_signed};
  q.scale = std::exp(std::uniform_real_distribution<double>(std::log(1e-3), std::log(1e-1))(rng));
  q.zero_point = q.binary() ? 0 : std::uniform_int_distribution<int32_t>(q.qmin(), q.qmax())(rng);
  return q;
}

// An activation's grid: as random_quant, but never binary (a signed 1-bit activation is unsigned instead).
inline QuantParams random_activation_quant(std::mt19937& rng, int bits, bool is_signed) {
  return random_quant(rng, bits, is_signed && bits > 1);
}

// Random codes of (bits, is_signed): binary codes are -1 and +1.
inline std::vector<int16_t> random_codes16(std::mt19937& rng, int64_t count, int bits, bool is_signed) {
  std::uniform_int_distribution<int32_t> code(code_min(bits, is_signed), code_max(bits, is_signed));
  std::vector<int16_t> codes(static_cast<size_t>(count));
  for (auto& c : codes) {
    do {
      c = static_cast<int16_t>(code(rng));
    } while (!is_code(c, bits, is_signed));
  }
  return codes;
}

inline std::vector<int32_t> random_codes(std::mt19937& rng, int64_t count, const QuantParams& q) {
  std::uniform_int_distribution<int32_t> code(q.qmin(), q.qmax());
  std::vector<int32_t> codes(static_cast<size_t>(count));
  for (auto& c : codes)
    c = code(rng);
  return codes;
}

/// Random weights of `shape` quantized per tensor or per output channel.
inline QuantizedWeights random_weights(std::mt19937& rng, const Dims& shape, int bits, bool is_signed,
                                       bool per_channel) {
  QuantizedWeights w;
  w.shape = shape;
  w.bits = bits;
  w.is_signed = is_signed;
  const int64_t channels = per_channel ? shape[0] : 1;
  for (int64_t c = 0; c < channels; ++c) {
    const QuantParams q = random_quant(rng, bits, is_signed);
    w.scales.push_back(q.scale);
    w.zero_points.push_back(q.zero_point);
  }
  w.codes = random_codes16(rng, checked_numel(shape, "test"), bits, is_signed);
  return w;
}

/// An output quantization whose range covers a few standard deviations of a typical accumulator,
/// so that requantized outputs spread over the codes instead of all clamping.
inline QuantParams output_quant_for(std::mt19937& rng, double input_scale, const QuantizedWeights& w,
                                    int64_t products, const QuantParams& input, int bits, bool is_signed) {
  QuantParams out = random_activation_quant(rng, bits, is_signed);
  const double spread_in = (input.qmax() - input.qmin() + 1) / 3.5;
  const double spread_w = (code_max(w.bits, w.is_signed) - code_min(w.bits, w.is_signed) + 1) / 3.5;
  const double acc_std = std::sqrt(static_cast<double>(products)) * spread_in * spread_w;
  const double typical_weight_scale = w.scales[0];
  // M = S1 * S2 / S3 maps 4 accumulator standard deviations onto the output code range.
  out.scale = input_scale * typical_weight_scale * 4.0 * acc_std / (out.qmax() - out.qmin() + 1);
  out.zero_point = (out.qmin() + out.qmax() + 1) / 2;
  return out;
}

inline std::vector<int32_t> random_bias(std::mt19937& rng, int64_t count, int32_t magnitude) {
  std::uniform_int_distribution<int32_t> value(-magnitude, magnitude);
  std::vector<int32_t> bias(static_cast<size_t>(count));
  for (auto& b : bias)
    b = value(rng);
  return bias;
}

struct LayerBits {
  int weight_bits = 8;
  bool weight_signed = false;
  int out_bits = 8;
  bool out_signed = false;
  bool per_channel = false;
  bool with_bias = true;
  bool fused_relu = false;
};

inline Conv2d random_conv(std::mt19937& rng, const QuantParams& input, int64_t in_channels,
                          int64_t out_channels, int64_t groups, const Window2d& window, const LayerBits& b) {
  Conv2d conv;
  conv.in_channels = in_channels;
  conv.out_channels = out_channels;
  conv.groups = groups;
  conv.window = window;
  conv.input_quant = input;
  conv.weight = random_weights(rng, {out_channels, in_channels / groups, window.kernel[0], window.kernel[1]},
                               b.weight_bits, b.weight_signed, b.per_channel);
  const int64_t products = conv.weight.row_size();
  const QuantParams out =
      output_quant_for(rng, input.scale, conv.weight, products, input, b.out_bits, b.out_signed);
  if (b.with_bias) conv.bias = random_bias(rng, out_channels, 2000);
  conv.output_stage = OutputStage::make(input.scale, conv.weight.scales, out, b.fused_relu);
  return conv;
}

inline Linear random_linear(std::mt19937& rng, const QuantParams& input, int64_t in_features,
                            int64_t out_features, const LayerBits& b) {
  Linear linear;
  linear.in_features = in_features;
  linear.out_features = out_features;
  linear.input_quant = input;
  linear.weight =
      random_weights(rng, {out_features, in_features}, b.weight_bits, b.weight_signed, b.per_channel);
  const QuantParams out =
      output_quant_for(rng, input.scale, linear.weight, in_features, input, b.out_bits, b.out_signed);
  if (b.with_bias) linear.bias = random_bias(rng, out_features, 2000);
  linear.output_stage = OutputStage::make(input.scale, linear.weight.scales, out, b.fused_relu);
  return linear;
}

inline Window2d window(int64_t k, int64_t s = 1, int64_t p = 0, int64_t d = 1) {
  return Window2d{{k, k}, {s, s}, {p, p}, {d, d}};
}

/// A small CNN touching every op: [2,9,9] -> conv(4, 3x3, pad 1, fused ReLU) -> max pool 2 ->
/// conv(4, groups 2, dilation 2, pad 2) -> ReLU -> avg pool 2 (pad 1) -> flatten -> linear(5).
inline Model small_cnn(std::mt19937& rng, const LayerBits& b, int input_bits = 8) {
  Model model;
  model.input.shape = {2, 9, 9};
  model.input.quant = random_quant(rng, input_bits, false);
  model.input.mean = {0.25, 0.5};
  model.input.stddev = {0.5, 0.25};
  LayerBits first = b;
  first.fused_relu = true;
  model.add(random_conv(rng, model.input.quant, 2, 4, 1, window(3, 1, 1), first));
  model.add(MaxPool2d{window(2, 2)});
  const QuantParams q1 = model.output.quant;
  model.add(random_conv(rng, q1, 4, 4, 2, window(2, 1, 2, 2), b));
  model.add(ReLU{});
  model.add(AvgPool2d{window(2, 2, 1)});
  model.add(Flatten{});
  const QuantParams q2 = model.output.quant;
  const int64_t features = plan_model(model).output().shape[0];  // 4 channels x 4 x 4
  model.add(random_linear(rng, q2, features, 5, b));
  model.metadata = {{"source_config", "test_small_cnn"}, {"bits", b.weight_bits}};
  return model;
}

inline IntTensor random_input(std::mt19937& rng, const Model& model, int64_t batch) {
  IntTensor input;
  input.shape = model.input.shape;
  input.shape.insert(input.shape.begin(), batch);
  input.data = random_codes(rng, checked_numel(input.shape, "test"), model.input.quant);
  return input;
}

inline size_t distinct_values(const std::vector<int32_t>& values) {
  return std::set<int32_t>(values.begin(), values.end()).size();
}

}  // namespace qg::runtime::testing
