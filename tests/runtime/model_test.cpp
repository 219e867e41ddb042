// Models: building and validation errors, run() against an independent double-precision simulation,
// integer vs float-reference requantization, threads, and the end-to-end helpers.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>
#include <string>

#include "error_text.h"
#include "random_models.h"
#include "runtime/run.h"

namespace qg::runtime {
namespace {

using testing::contains;
using testing::error_of;
using testing::LayerBits;

Model input_only(std::mt19937& rng, Dims shape) {
  Model model;
  model.input.shape = std::move(shape);
  model.input.quant = testing::random_quant(rng, 8, false);
  model.output.quant = model.input.quant;
  return model;
}

// ---- building and validation ------------------------------------------------------------------

TEST(ModelBuilding, ShapeErrorsNameTheOpIndexNameAndShapes) {
  std::mt19937 rng(21);
  Model model = input_only(rng, {2, 9, 9});
  const Conv2d three_channels =
      testing::random_conv(rng, model.input.quant, 3, 4, 1, testing::window(3), LayerBits{});
  EXPECT_EQ(
      error_of([&] { model.add(three_channels); }),
      "op 0 (conv2d) on input [2,9,9]: input has 2 channels but the layer expects 3 (input [2,9,9], weight "
      "[4,3,3,3])");
  EXPECT_TRUE(model.ops.empty());  // a rejected op is not appended
  model.add(testing::random_conv(rng, model.input.quant, 2, 4, 1, testing::window(3), LayerBits{}));
  const Linear linear = testing::random_linear(rng, model.output.quant, 4 * 7 * 7, 3, LayerBits{});
  EXPECT_EQ(error_of([&] { model.add(linear); }),
            "op 1 (linear) on input [4,7,7]: expects a flat [196] input but got [4,7,7] (add a flatten op "
            "before it)");
  model.add(Flatten{});
  const Linear wrong_size = testing::random_linear(rng, model.output.quant, 100, 3, LayerBits{});
  EXPECT_EQ(
      error_of([&] { model.add(wrong_size); }),
      "op 2 (linear) on input [196]: input has 196 features but the layer expects 100 (input [196], weight "
      "[3,100])");
  model.add(linear);
  EXPECT_EQ(plan_model(model).output().shape, (Dims{3}));
}

TEST(ModelBuilding, QuantizationChainAndOutputMustMatch) {
  std::mt19937 rng(22);
  Model model = input_only(rng, {4});
  QuantParams other = model.input.quant;
  other.zero_point = (other.zero_point + 1) % 256;
  const Linear mismatched = testing::random_linear(rng, other, 4, 2, LayerBits{});
  EXPECT_TRUE(contains(error_of([&] { model.add(mismatched); }),
                       "op 0 (linear) on input [4]: the incoming activation has scale"));
  model.add(testing::random_linear(rng, model.input.quant, 4, 2, LayerBits{}));
  model.output.quant.scale *= 2;
  EXPECT_TRUE(contains(error_of([&] { plan_model(model); }), "output: dequantization uses scale"));
}

TEST(ModelBuilding, RejectsBadInputAndImpossibleAccumulators) {
  std::mt19937 rng(23);
  Model model = input_only(rng, {3, 4, 4});
  model.input.mean = {0.1, 0.2};  // neither 1 nor 3 values
  model.input.stddev = {1.0, 1.0};
  EXPECT_TRUE(contains(error_of([&] { plan_model(model); }), "input: input normalisation needs 1 or 3"));
  // 40000 products of 8-bit codes: a layer that can overflow is refused, one that cannot is accepted. The
  // bound comes from the actual codes (issue 10, item 4): inputs up to A = 255 from Z1 = 0 against weights
  // all 255 from Z2 = 0 reach 40000 * 255 * 255 = 2601000000 > 2^31 - 1.
  Model wide = input_only(rng, {40000});
  wide.input.quant.zero_point = 0;
  wide.output.quant = wide.input.quant;
  Linear huge = testing::random_linear(rng, wide.input.quant, 40000, 2, LayerBits{});
  huge.weight.codes.assign(huge.weight.codes.size(), 255);
  huge.weight.zero_points = {0};
  huge.bias.clear();
  EXPECT_TRUE(contains(error_of([&] { wide.add(huge); }),
                       "the int32 accumulator could overflow: in output channel 0, the accumulator can reach "
                       "2601000000 > 2^31-1"));
  // Random codes over the whole range: at most 40000 * 255 * 255 in the raw dot product too, but the sums
  // of the actual codes stay near half of that, below 2^31 (the range-based bound refused this layer).
  const Linear random = testing::random_linear(rng, wide.input.quant, 40000, 2, LayerBits{});
  int64_t largest = 0;
  for (int64_t j = 0; j < 2; ++j) {
    int64_t offsets = 0, codes = 0;
    for (int64_t k = 0; k < 40000; ++k) {
      const int32_t q = random.weight.codes[static_cast<size_t>(j * 40000 + k)];
      offsets += std::abs(q - random.weight.zero_point(j));
      codes += q;
    }
    largest = std::max({largest, std::abs(int64_t{random.bias[static_cast<size_t>(j)]}) + 255 * codes,
                        std::abs(int64_t{random.bias[static_cast<size_t>(j)]}) + 255 * offsets,
                        std::abs(int64_t{random.weight.zero_point(j)}) * 40000 * 255});
  }
  ASSERT_LE(largest, 2147483647);
  EXPECT_EQ(error_of([&] { wide.add(random); }), "(no exception)");
}

TEST(ModelRun, RejectsBadInputs) {
  std::mt19937 rng(24);
  const Model model = testing::small_cnn(rng, LayerBits{});
  IntTensor input = testing::random_input(rng, model, 2);
  EXPECT_EQ(error_of([&] {
              run(model, IntTensor{{2, 2, 9, 8}, input.data});
            }),
            "run: input has shape [2,2,9,8] but the model expects a batch of N samples of shape [2,9,9]");
  input.data[5] = model.input.quant.qmax() + 1;
  EXPECT_TRUE(contains(error_of([&] { run(model, input); }), "run: input code 256 at element 5 is outside"));
  EXPECT_TRUE(contains(error_of([&] { run(model, testing::random_input(rng, model, 1), {.threads = 0}); }),
                       "threads must be at least 1"));
}

// ---- an independent double-precision simulation -------------------------------------------------

/// q3 = clamp(round_half_even(M * acc) + Z3) with acc summed in double (exact for these sizes) and
/// M = S1 * S2[c] / S3 recomputed here: the tutorial's float-simulated quantized inference.
int32_t simulate_output(double acc, double m, const OutputStage& s) {
  const double q = std::nearbyint(m * acc) + s.output.zero_point;
  return static_cast<int32_t>(std::min<double>(std::max<double>(q, s.clamp_min), s.clamp_max));
}

std::vector<int32_t> simulate_conv(const Conv2d& c, int64_t height, int64_t width,
                                   const std::vector<int32_t>& x, std::vector<double>* real_out = nullptr) {
  const int64_t kh = c.window.kernel[0], kw = c.window.kernel[1], pad = c.window.padding[0];
  const int64_t oh = height + 2 * pad - kh + 1,
                ow = width + 2 * pad - kw + 1;  // stride 1, dilation 1, groups 1
  std::vector<int32_t> out;
  for (int64_t o = 0; o < c.out_channels; ++o) {
    const QuantParams w = c.weight.channel_params(o);
    const double m = c.input_quant.scale * w.scale / c.output_stage.output.scale;
    for (int64_t y = 0; y < oh; ++y) {
      for (int64_t x0 = 0; x0 < ow; ++x0) {
        double acc = c.bias.empty() ? 0.0 : c.bias[static_cast<size_t>(o)];
        for (int64_t i = 0; i < c.in_channels; ++i) {
          for (int64_t t = 0; t < kh; ++t) {
            for (int64_t u = 0; u < kw; ++u) {
              const int64_t yy = y + t - pad, xx = x0 + u - pad;
              if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
              const double a =
                  x[static_cast<size_t>((i * height + yy) * width + xx)] - c.input_quant.zero_point;
              const double b =
                  c.weight.codes[static_cast<size_t>(((o * c.in_channels + i) * kh + t) * kw + u)] -
                  w.zero_point;
              acc += a * b;
            }
          }
        }
        out.push_back(simulate_output(acc, m, c.output_stage));
        // The same output in reals: (S1 S2) * acc is conv(x_real, w_real) + b_real, before the ReLU.
        if (real_out) real_out->push_back(c.input_quant.scale * w.scale * acc);
      }
    }
  }
  return out;
}

std::vector<int32_t> simulate_linear(const Linear& l, const std::vector<int32_t>& x) {
  std::vector<int32_t> out;
  for (int64_t j = 0; j < l.out_features; ++j) {
    const QuantParams w = l.weight.channel_params(j);
    double acc = l.bias.empty() ? 0.0 : l.bias[static_cast<size_t>(j)];
    for (int64_t k = 0; k < l.in_features; ++k) {
      acc += static_cast<double>(x[static_cast<size_t>(k)] - l.input_quant.zero_point) *
             (l.weight.codes[static_cast<size_t>(j * l.in_features + k)] - w.zero_point);
    }
    out.push_back(
        simulate_output(acc, l.input_quant.scale * w.scale / l.output_stage.output.scale, l.output_stage));
  }
  return out;
}

/// [1,6,6] -> conv(3, 3x3, pad 1, per-channel 8-bit weights, fused ReLU) -> flatten -> linear(4).
Model two_layer_model(std::mt19937& rng) {
  Model model;
  model.input.shape = {1, 6, 6};
  model.input.quant = testing::random_quant(rng, 8, false);
  LayerBits conv_bits;
  conv_bits.per_channel = true;
  conv_bits.fused_relu = true;
  model.add(testing::random_conv(rng, model.input.quant, 1, 3, 1, testing::window(3, 1, 1), conv_bits));
  model.add(Flatten{});
  model.add(testing::random_linear(rng, model.output.quant, 3 * 6 * 6, 4, LayerBits{}));
  return model;
}

std::vector<int32_t> sample(const IntTensor& t, int64_t n) {
  const int64_t size = t.sample_size();
  return {t.data.begin() + n * size, t.data.begin() + (n + 1) * size};
}

TEST(ModelRun, FloatReferenceModeEqualsDoubleSimulation) {
  std::mt19937 rng(25);
  const Model model = two_layer_model(rng);
  const auto& conv = std::get<Conv2d>(model.ops[0]);
  const auto& linear = std::get<Linear>(model.ops[2]);
  const IntTensor input = testing::random_input(rng, model, 16);
  const IntTensor output = run(model, input, {.mode = RequantMode::FloatReference});
  ASSERT_EQ(output.shape, (Dims{16, 4}));
  for (int64_t n = 0; n < 16; ++n) {
    const std::vector<int32_t> hidden = simulate_conv(conv, 6, 6, sample(input, n));
    EXPECT_EQ(sample(output, n), simulate_linear(linear, hidden)) << "sample " << n;
  }
  EXPECT_GT(testing::distinct_values(output.data), 8u);
}

TEST(ModelRun, IntegerModeWithinOneStepOfDoubleSimulationPerLayer) {
  std::mt19937 rng(26);
  const Model model = two_layer_model(rng);
  const auto& conv = std::get<Conv2d>(model.ops[0]);
  const auto& linear = std::get<Linear>(model.ops[2]);
  Model first_layer = model;  // the prefix [conv] exposes the hidden activation
  first_layer.ops.resize(1);
  first_layer.output.quant = conv.output_stage.output;
  const IntTensor input = testing::random_input(rng, model, 16);
  const IntTensor hidden = run(first_layer, input);
  const IntTensor output = run(model, input);
  int64_t off_by_one = 0, compared = 0;
  for (int64_t n = 0; n < 16; ++n) {
    std::vector<double> reals;
    const std::vector<int32_t> simulated = simulate_conv(conv, 6, 6, sample(input, n), &reals);
    const std::vector<int32_t> actual = sample(hidden, n);
    const QuantParams& q3 = conv.output_stage.output;
    for (size_t i = 0; i < actual.size(); ++i) {
      ASSERT_LE(std::abs(actual[i] - simulated[i]), 1) << "hidden " << i << " of sample " << n;
      off_by_one += actual[i] != simulated[i];
      ++compared;
      // In reals the code is the clamped ReLU output to within half a step (plus the one-step rounding).
      const double clamped = std::min(std::max(reals[i], 0.0), q3.scale * (q3.qmax() - q3.zero_point));
      EXPECT_NEAR(q3.scale * (actual[i] - q3.zero_point), clamped, 1.5 * q3.scale);
    }
    // The second layer fed with the integer hidden codes.
    const std::vector<int32_t> simulated_out = simulate_linear(linear, actual);
    const std::vector<int32_t> actual_out = sample(output, n);
    for (size_t j = 0; j < actual_out.size(); ++j)
      ASSERT_LE(std::abs(actual_out[j] - simulated_out[j]), 1);
  }
  std::cout << "[ integer vs simulation ] " << off_by_one << " of " << compared
            << " hidden codes differ by one\n";
  EXPECT_GT(testing::distinct_values(hidden.data), 30u);
}

TEST(ModelRun, IntegerAndFloatReferenceModesAgreeWithinOneStep) {
  std::mt19937 rng(27);
  for (const int bits : {2, 4, 8}) {
    Model model = input_only(rng, {3, 8, 8});
    LayerBits b;
    b.weight_bits = b.out_bits = bits;
    b.per_channel = true;
    model.add(testing::random_conv(rng, model.input.quant, 3, 6, 1, testing::window(3, 1, 1), b));
    const IntTensor input = testing::random_input(rng, model, 8);
    const IntTensor integer = run(model, input, {.mode = RequantMode::Integer});
    const IntTensor reference = run(model, input, {.mode = RequantMode::FloatReference});
    int64_t differ = 0;
    for (size_t i = 0; i < integer.data.size(); ++i) {
      ASSERT_LE(std::abs(integer.data[i] - reference.data[i]), 1) << "element " << i;
      differ += integer.data[i] != reference.data[i];
    }
    std::cout << "[ modes ] " << bits << "-bit: " << differ << " of " << integer.data.size()
              << " codes differ by one\n";
  }
}

TEST(ModelRun, ThreadsDoNotChangeResults) {
  std::mt19937 rng(28);
  const Model model = testing::small_cnn(rng, LayerBits{});
  const IntTensor input = testing::random_input(rng, model, 7);
  const IntTensor one = run(model, input, {.threads = 1});
  for (const int threads : {2, 3, 8}) {
    EXPECT_EQ(run(model, input, {.threads = threads}).data, one.data) << threads << " threads";
  }
  EXPECT_EQ(run(model, input, {.mode = RequantMode::FloatReference, .threads = 2}).data,
            run(model, input, {.mode = RequantMode::FloatReference, .threads = 1}).data);
  EXPECT_EQ(run(model, IntTensor{{0, 2, 9, 9}, {}}, {.threads = 2}).shape, (Dims{0, 5}));
}

TEST(ModelRun, FastAndReferenceKernelsGiveTheSameModelOutput) {
  std::mt19937 rng(29);
  for (const int bits : {1, 3, 8}) {
    LayerBits b;
    b.weight_bits = b.out_bits = bits;
    b.weight_signed = bits == 3;
    b.per_channel = bits != 1;
    const Model model = testing::small_cnn(rng, b, bits == 1 ? 8 : bits);
    const IntTensor input = testing::random_input(rng, model, 5);
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      EXPECT_EQ(run(model, input, {.mode = mode, .kernels = KernelChoice::Fast}).data,
                run(model, input, {.mode = mode, .kernels = KernelChoice::Reference}).data);
    }
  }
}

TEST(ModelRun, PixelsToPredictionsEndToEnd) {
  std::mt19937 rng(30);
  const Model model = testing::small_cnn(rng, LayerBits{});
  std::vector<uint8_t> pixels(3 * 2 * 9 * 9);
  for (auto& p : pixels)
    p = static_cast<uint8_t>(rng() % 256);
  const IntTensor codes = quantize_pixels(model, pixels);
  EXPECT_EQ(codes.data, input_quantize_pixels_reference(model.input, pixels).data);
  const IntTensor logits = run(model, codes);
  ASSERT_EQ(logits.shape, (Dims{3, 5}));
  const std::vector<float> reals = dequantize(model, logits);
  const std::vector<int64_t> labels = predict(logits);
  ASSERT_EQ(labels.size(), 3u);
  for (int64_t n = 0; n < 3; ++n) {
    // The argmax of the codes is the argmax of the dequantized values (S > 0).
    const auto row = reals.begin() + n * 5;
    EXPECT_EQ(labels[static_cast<size_t>(n)], std::max_element(row, row + 5) - row);
  }
  std::vector<float> normalized(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) {
    normalized[i] = static_cast<float>(model.input.normalize(pixels[i], model.input.channel_of(i % 162)));
  }
  const IntTensor from_floats = quantize_normalized(model, normalized);
  int64_t differ = 0;
  for (size_t i = 0; i < pixels.size(); ++i)
    differ += std::abs(from_floats.data[i] - codes.data[i]) > 0;
  EXPECT_LE(differ, 3);  // float32 rounding of x can only move a code that sits on a rounding boundary
}

// The example in the comment at the top of runtime/model.h, kept compiling and valid.
TEST(ModelRun, HeaderExampleBuildsAValidModel) {
  const QuantParams in_q{0.0078, 128, 8, false}, conv_q{0.02, 0, 8, false}, out_q{0.1, 120, 8, false};
  const std::vector<float> w(8 * 9, 0.05f), b(8, 0.125f);
  const std::vector<double> w_scales(8, 0.001);
  const std::vector<int32_t> w_zeros(8, 128);
  runtime::Model model;
  model.input = {.shape = {1, 28, 28}, .quant = in_q, .mean = {0.1307}, .stddev = {0.3081}};
  runtime::Conv2d conv;
  conv.in_channels = 1;
  conv.out_channels = 8;
  conv.window.kernel = {3, 3};
  conv.input_quant = in_q;
  conv.weight = runtime::quantize_weights(w, {8, 1, 3, 3}, w_scales, w_zeros, 8, false);
  conv.bias = runtime::quantize_bias(b, in_q.scale, w_scales);
  conv.output_stage = runtime::OutputStage::make(in_q.scale, w_scales, conv_q, /*fused_relu=*/true);
  runtime::Linear linear;
  linear.in_features = 8 * 13 * 13;
  linear.out_features = 10;
  linear.input_quant = conv_q;
  linear.weight = runtime::quantize_weights(std::vector<float>(10 * 8 * 13 * 13, -0.01f), {10, 8 * 13 * 13},
                                            {0.0001}, {128}, 8, false);
  linear.output_stage = runtime::OutputStage::make(conv_q.scale, {0.0001}, out_q, false);
  runtime::MaxPool2d pool;
  pool.window.kernel = pool.window.stride = {2, 2};
  model.add(conv).add(pool).add(runtime::Flatten{});
  model.add(linear);  // add() validates each op and keeps output.quant in step
  model.metadata = {{"source_config", "mnist_cnn"}, {"bits", 8}};
  EXPECT_EQ(model.output.quant, out_q);
  // 0.05 / 0.001 + 128 = 178 (0.05f is a hair above 0.05); bias 0.125 / (0.0078 * 0.001) = 16025.64 -> 16026.
  EXPECT_EQ(std::get<Conv2d>(model.ops[0]).weight.codes[0], 178);
  EXPECT_EQ(std::get<Conv2d>(model.ops[0]).bias[0], 16026);
  EXPECT_EQ(run(model, quantize_pixels(model, std::vector<uint8_t>(2 * 28 * 28, 0))).shape, (Dims{2, 10}));
}

}  // namespace
}  // namespace qg::runtime
