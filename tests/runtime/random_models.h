// Test helpers: random quantization parameters, layers, models and inputs for the runtime tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
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

/// Random bit widths and options for a layer: weights and outputs of 1..8 bits, signed or not (an output
/// cannot be binary), per-channel, bias and fused ReLU each with probability 1/2.
inline LayerBits random_layer_bits(std::mt19937& rng) {
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  LayerBits b{bits(rng), coin(rng), bits(rng), coin(rng), coin(rng), coin(rng), coin(rng)};
  b.out_signed = b.out_signed && b.out_bits > 1;  // an activation cannot be binary
  return b;
}

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

/// An activation quantization near `like` (a scale within a factor of 2 either way): what a graph's joins
/// see, as their inputs come from layers trained on the same data. Sometimes `like` itself.
inline QuantParams nearby_quant(std::mt19937& rng, const QuantParams& like, int bits, bool is_signed) {
  if (rng() % 4 == 0 && like.bits == bits && like.is_signed == is_signed) return like;
  QuantParams q = random_activation_quant(rng, bits, is_signed);
  q.scale = like.scale * std::exp(std::uniform_real_distribution<double>(-0.7, 0.7)(rng));
  return q;
}

/// A random DAG over [C,H,W] values with every kind of op: from the input, each step adds a conv (3x3 padded
/// or 1x1, on a random earlier value, often the latest), an add of two earlier values of the same shape (a
/// residual join, sometimes with a fused ReLU), a concat of two or three earlier values with the same height
/// and width, a clip, a ReLU, a mul_add or a 2x2 max pool; then flatten and linear(3). Values read by no
/// later op are allowed (their op still runs). Bits of the activations: `bits` (2..8).
inline Model random_graph(std::mt19937& rng, int bits, int steps) {
  std::uniform_int_distribution<int64_t> channels(1, 4), size(4, 7);
  Model model;
  model.input.shape = {channels(rng), size(rng), size(rng)};
  model.input.quant = random_activation_quant(rng, bits, rng() % 2 == 0);
  model.input.mean = {0.5};
  model.input.stddev = {0.25};
  std::vector<Activation> values{{model.input.shape, model.input.quant}};
  const auto pick = [&](const std::vector<int64_t>& candidates) {
    // The latest value half of the time, else any: long skips and short ones.
    if (rng() % 2 == 0) return candidates.back();
    return candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)];
  };
  const auto all_values = [&] {
    std::vector<int64_t> all(values.size());
    for (size_t v = 0; v < values.size(); ++v)
      all[v] = static_cast<int64_t>(v);
    return all;
  };
  const auto push = [&](Op op, std::vector<int64_t> inputs) {
    model.add(std::move(op), std::move(inputs));
    values.push_back({plan_model(model).output().shape, model.output.quant});
  };
  for (int step = 0; step < steps; ++step) {
    const int kind = std::uniform_int_distribution<int>(0, 9)(rng);
    const int64_t v = pick(all_values());
    const Activation& a = values[static_cast<size_t>(v)];
    LayerBits b;
    b.weight_bits = std::uniform_int_distribution<int>(2, 8)(rng);
    b.weight_signed = rng() % 2 == 0;
    b.out_bits = bits;
    b.out_signed = rng() % 2 == 0;
    b.per_channel = rng() % 2 == 0;
    b.fused_relu = rng() % 3 == 0;
    if (kind <= 2) {  // conv
      const bool one_by_one = rng() % 3 == 0;
      push(random_conv(rng, a.quant, a.shape[0], channels(rng), 1, one_by_one ? window(1) : window(3, 1, 1),
                       b),
           {v});
    } else if (kind <= 4) {  // add of two values of one shape
      std::vector<int64_t> same;
      for (size_t u = 0; u < values.size(); ++u) {
        if (values[u].shape == a.shape) same.push_back(static_cast<int64_t>(u));
      }
      const int64_t w = same[std::uniform_int_distribution<size_t>(0, same.size() - 1)(rng)];  // may be v
      const QuantParams& qw = values[static_cast<size_t>(w)].quant;
      const QuantParams out = nearby_quant(rng, a.quant.scale > qw.scale ? a.quant : qw, bits, b.out_signed);
      push(Add::make(a.quant, qw, out, rng() % 3 == 0 ? out.zero_point : out.qmin(), out.qmax()), {v, w});
    } else if (kind <= 6) {  // concat of values with the same height and width
      std::vector<int64_t> inputs{v};
      const int more = 1 + static_cast<int>(rng() % 2);
      for (int k = 0; k < more; ++k) {
        std::vector<int64_t> fitting;
        for (size_t u = 0; u < values.size(); ++u) {
          if (values[u].shape[1] == a.shape[1] && values[u].shape[2] == a.shape[2])
            fitting.push_back(static_cast<int64_t>(u));
        }
        inputs.push_back(pick(fitting));
      }
      std::vector<QuantParams> quants;
      for (const int64_t u : inputs)
        quants.push_back(values[static_cast<size_t>(u)].quant);
      const QuantParams out = nearby_quant(rng, quants[rng() % quants.size()], bits, b.out_signed);
      push(Concat::make(quants, out), inputs);
    } else if (kind == 7) {  // clip, or a ReLU
      if (rng() % 2 == 0) {
        std::uniform_int_distribution<int32_t> code(a.quant.qmin(), a.quant.qmax());
        int32_t lo = code(rng), hi = code(rng);
        if (lo > hi) std::swap(lo, hi);
        push(Clip{lo, hi}, {v});
      } else {
        push(ReLU{}, {v});
      }
    } else if (kind == 8 && a.shape[1] >= 4 && a.shape[2] >= 4) {  // a 2x2 max pool: a smaller grid
      push(MaxPool2d{window(2, 2)}, {v});
    } else {  // mul_add: a lone BatchNorm
      MulAdd op;
      op.channels = a.shape[0];
      op.input_quant = a.quant;
      op.weight = random_weights(rng, {op.channels}, 8, true, true);
      op.bias = random_bias(rng, op.channels, 500);
      QuantParams out = random_activation_quant(rng, bits, b.out_signed);
      out.scale = a.quant.scale * op.weight.scales[0] * 127.0 * 2.0 * (a.quant.qmax() - a.quant.qmin() + 1) /
                  (out.qmax() - out.qmin() + 1);
      op.output_stage = OutputStage::make(a.quant.scale, op.weight.scales, out, b.fused_relu);
      push(op, {v});
    }
  }
  model.add(Flatten{});
  const int64_t features = plan_model(model).output().shape[0];
  model.add(random_linear(rng, model.output.quant, features, 3, {}));
  model.metadata = {{"source_config", "test_random_graph"}, {"bits", bits}};
  return model;
}

inline IntTensor random_input(std::mt19937& rng, const Model& model, int64_t batch) {
  IntTensor input;
  input.shape = model.input.shape;
  input.shape.insert(input.shape.begin(), batch);
  input.data = random_codes(rng, checked_numel(input.shape, "test"), model.input.quant);
  return input;
}

/// A conv on an input: the test case of the conv tests.
struct ConvCase {
  Conv2d conv{};
  Dims input_shape{};
  Dims output_shape{};              // conv.output_shape(input_shape)
  std::vector<int32_t> input = {};  // codes of conv.input_quant
};

/// A random conv case whose window fits its image: `draw()` returns a case with conv and input_shape set
/// (drawn from rng), and is called again until conv.output_shape(input_shape) accepts the shape; then the
/// output shape is set and the input codes drawn.
template <class Draw>
ConvCase draw_fitting_conv(std::mt19937& rng, Draw draw) {
  while (true) {
    ConvCase c = draw();
    try {
      c.output_shape = c.conv.output_shape(c.input_shape);
    } catch (const std::invalid_argument&) {
      continue;  // the window does not fit this image: draw again
    }
    c.input = random_codes(rng, checked_numel(c.input_shape, "test"), c.conv.input_quant);
    return c;
  }
}

inline size_t distinct_values(const std::vector<int32_t>& values) {
  return std::set<int32_t>(values.begin(), values.end()).size();
}

}  // namespace qg::runtime::testing
