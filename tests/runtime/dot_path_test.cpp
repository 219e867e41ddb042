// The integer fast paths added for speed, each bit-exact (EXPECT_EQ) with the naive reference:
//  * the stride-1 dot-product conv (conv2d_dot.h) in every instruction set this CPU runs (AVX-512 VNNI,
//    AVX2, portable), on random shapes, bit widths, signedness, padding, dilation and groups;
//  * the fused conv + 2x2 max pool (pooling the accumulators), and the vectorised max_pool2d_fast;
//  * run() with the fast kernels against run() with the reference kernels, on whole models, batches and
//    thread counts, and after an op's weights change in place (the packed-weight cache must notice).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "random_models.h"
#include "runtime/ops/conv2d_dot.h"
#include "runtime/run.h"

namespace qg::runtime {
namespace {

using testing::LayerBits;

std::vector<int8::Isa> available_isas() {
  std::vector<int8::Isa> isas;
  for (const int8::Isa isa : {int8::Isa::Portable, int8::Isa::Avx2, int8::Isa::Avx512Vnni}) {
    if (int8::isa_available(isa)) isas.push_back(isa);
  }
  return isas;
}

LayerBits random_bits(std::mt19937& rng) {
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  LayerBits b{bits(rng), coin(rng), bits(rng), coin(rng), coin(rng), coin(rng), coin(rng)};
  b.out_signed = b.out_signed && b.out_bits > 1;  // an activation cannot be binary
  return b;
}

// A random stride-1 conv on a random input, with the window fitting the image.
struct ConvCase {
  Conv2d conv;
  Dims input_shape, output_shape;
  std::vector<int32_t> input;
};

ConvCase random_stride1_conv(std::mt19937& rng, int64_t max_channels, int64_t max_size = 16) {
  std::uniform_int_distribution<int64_t> groups_of(1, 3), channels(1, max_channels), size(4, max_size),
      kernel(1, 4), padding(0, 2), dilation(1, 2);
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  while (true) {
    const int64_t groups = groups_of(rng);
    const int64_t in_channels = groups * channels(rng), out_channels = groups * channels(rng);
    const Window2d window{
        {kernel(rng), kernel(rng)}, {1, 1}, {padding(rng), padding(rng)}, {dilation(rng), dilation(rng)}};
    const Dims in{in_channels, size(rng), size(rng)};
    const QuantParams input = testing::random_activation_quant(rng, bits(rng), coin(rng));
    ConvCase c{testing::random_conv(rng, input, in_channels, out_channels, groups, window, random_bits(rng)),
               in,
               {},
               {}};
    try {
      c.output_shape = c.conv.output_shape(in);
    } catch (const std::invalid_argument&) {
      continue;  // the window does not fit: draw again
    }
    c.input = testing::random_codes(rng, checked_numel(in, "test"), input);
    return c;
  }
}

TEST(ConvDotPath, BitExactWithReferenceInEveryInstructionSet) {
  std::mt19937 rng(21);
  int varied = 0, cases = 0, wide = 0;
  Scratch scratch;
  for (int i = 0; i < 120; ++i) {
    // Up to 12 channels per group: both word layouts (several channels per word, or an im2col of taps).
    const ConvCase c = random_stride1_conv(rng, 12);
    ASSERT_TRUE(conv2d_dot_applies(c.conv));
    wide += c.conv.in_channels / c.conv.groups >= 4 ? 1 : 0;
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(c.output_shape, "test")));
      conv2d_reference(c.conv, c.input_shape, c.input, expected, mode);
      varied += testing::distinct_values(expected) > 1 ? 1 : 0;
      for (const int8::Isa isa : available_isas()) {
        std::vector<int32_t> actual(expected.size(), -12345);
        conv2d_fast(c.conv, c.input_shape, c.input, actual, mode, scratch, isa);
        ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", input " << dims_to_string(c.input_shape)
                                    << ", " << c.conv.out_channels << " outputs, groups " << c.conv.groups
                                    << ", " << c.conv.window.describe();
      }
      ++cases;
    }
  }
  std::cout << "[ coverage ] instruction sets:";
  for (const int8::Isa isa : available_isas())
    std::cout << " " << int8::isa_name(isa);
  std::cout << "; " << wide << " of 120 convs with >= 4 channels per group; " << varied << " of " << cases
            << " outputs not constant\n";
  EXPECT_GT(wide, 20);
  EXPECT_GT(varied, cases / 2);
}

// The vectorised output stage against OutputStage::apply, on accumulators from 0 to the int32 extremes,
// multipliers of every shift, signed and unsigned codes, with and without a fused ReLU.
TEST(RequantizeRow, MatchesTheOutputStageOnExtremeValues) {
  std::mt19937 rng(27);
  std::uniform_int_distribution<int32_t> any(std::numeric_limits<int32_t>::min() + 1,
                                             std::numeric_limits<int32_t>::max());
  std::uniform_real_distribution<double> exponent(-34.0, 8.0);
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  for (int i = 0; i < 300; ++i) {
    const QuantParams out = testing::random_activation_quant(rng, bits(rng), coin(rng));
    const OutputStage stage = OutputStage::make(1.0, {std::pow(2.0, exponent(rng))}, out, coin(rng));
    std::vector<int32_t> acc(37), zeros(acc.size(), 0);  // 37: two vectors and a masked tail
    for (auto& a : acc)
      a = coin(rng) ? any(rng) : any(rng) % 5000;
    acc[0] = std::numeric_limits<int32_t>::max();
    acc[1] = -std::numeric_limits<int32_t>::max();
    acc[2] = 0;
    std::vector<int32_t> expected(acc.size());
    for (size_t k = 0; k < acc.size(); ++k)
      expected[k] = stage.apply(acc[k], 0, RequantMode::Integer);
    for (const int8::Isa isa : available_isas()) {
      std::vector<int32_t> actual(acc.size(), -12345);
      const QuantizedMultiplier m = stage.multipliers[0];
      int8::requantize_row(isa, acc.data(), zeros.data(), 0, 0, m.multiplier, m.shift, out.zero_point,
                           stage.clamp_min, stage.clamp_max, actual.data(), static_cast<int64_t>(acc.size()));
      ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", multiplier " << m.multiplier << " shift "
                                  << m.shift;
    }
  }
}

TEST(ConvDotPath, TutorialShapesInEveryInstructionSet) {
  std::mt19937 rng(22);
  struct Shape {
    int64_t in, out, groups, size;
  };
  Scratch scratch;
  for (const Shape& s : {Shape{1, 40, 1, 28}, Shape{40, 40, 20, 13}, Shape{40, 40, 1, 13}}) {
    LayerBits b;
    b.fused_relu = true;
    const QuantParams input = testing::random_quant(rng, 8, false);
    const Conv2d conv = testing::random_conv(rng, input, s.in, s.out, s.groups, testing::window(3), b);
    const Dims in{s.in, s.size, s.size};
    const std::vector<int32_t> image = testing::random_codes(rng, checked_numel(in, "test"), input);
    std::vector<int32_t> expected(static_cast<size_t>(checked_numel(conv.output_shape(in), "test")));
    conv2d_reference(conv, in, image, expected, RequantMode::Integer);
    for (const int8::Isa isa : available_isas()) {
      std::vector<int32_t> actual(expected.size(), -1);
      conv2d_fast(conv, in, image, actual, RequantMode::Integer, scratch, isa);
      EXPECT_EQ(actual, expected) << int8::isa_name(isa) << " " << s.in << "->" << s.out;
    }
  }
}

TEST(ConvDotPath, FusedPoolEqualsConvThenPool) {
  std::mt19937 rng(23);
  const MaxPool2d pool{testing::window(2, 2)};
  ASSERT_TRUE(pool_fuses(pool));
  Scratch scratch;
  int tested = 0;
  for (int i = 0; i < 200 && tested < 60; ++i) {
    // Every fourth case up to 70 wide: pooled rows of more than 16 outputs take the fused kernel's full and
    // masked blocks.
    const ConvCase c = random_stride1_conv(rng, 10, i % 4 == 0 ? 70 : 16);
    if (c.output_shape[1] < 2 || c.output_shape[2] < 2) continue;
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> conv_out(static_cast<size_t>(checked_numel(c.output_shape, "test")));
      conv2d_reference(c.conv, c.input_shape, c.input, conv_out, mode);
      const Dims pooled_shape = pool.output_shape(c.output_shape);
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(pooled_shape, "test")));
      max_pool2d_reference(pool, c.output_shape, conv_out, expected);
      for (const int8::Isa isa : available_isas()) {
        std::vector<int32_t> actual(expected.size(), -12345);
        conv2d_dot_pooled(c.conv, pool, c.input_shape, c.input, actual, mode, scratch, isa);
        ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", conv output "
                                    << dims_to_string(c.output_shape);
      }
    }
    ++tested;
  }
  EXPECT_EQ(tested, 60);
  EXPECT_FALSE(pool_fuses(MaxPool2d{testing::window(3, 2)}));
  EXPECT_FALSE(pool_fuses(MaxPool2d{testing::window(2, 1)}));
}

TEST(MaxPoolFast, BitExactWithReference) {
  std::mt19937 rng(24);
  std::uniform_int_distribution<int64_t> size(2, 40), channels(1, 5);
  for (int i = 0; i < 100; ++i) {
    const Dims in{channels(rng), size(rng), size(rng)};
    const QuantParams q = testing::random_quant(rng, 8, i % 2 == 0);
    const std::vector<int32_t> codes = testing::random_codes(rng, checked_numel(in, "test"), q);
    for (const MaxPool2d& pool : {MaxPool2d{testing::window(2, 2)}, MaxPool2d{testing::window(3, 2, 1)}}) {
      Dims out;
      try {
        out = pool.output_shape(in);
      } catch (const std::invalid_argument&) {
        continue;
      }
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(out, "test"))),
          actual(expected.size(), -1);
      max_pool2d_reference(pool, in, codes, expected);
      max_pool2d_fast(pool, in, codes, actual);
      ASSERT_EQ(actual, expected) << dims_to_string(in) << " " << pool.window.describe();
    }
  }
}

// The tutorial's two models in miniature: conv (fused ReLU) + 2x2 pool, twice, then a linear layer.
Model tutorial_like(std::mt19937& rng, int64_t groups, const LayerBits& b) {
  Model model;
  model.input.shape = {1, 20, 20};
  model.input.quant = testing::random_quant(rng, 8, false);
  model.input.mean = {0.1307};
  model.input.stddev = {0.3081};
  LayerBits relu = b;
  relu.fused_relu = true;
  model.add(testing::random_conv(rng, model.input.quant, 1, 8, 1, testing::window(3), relu));
  model.add(MaxPool2d{testing::window(2, 2)});
  model.add(testing::random_conv(rng, model.output.quant, 8, 8, groups, testing::window(3), relu));
  model.add(MaxPool2d{testing::window(2, 2)});
  model.add(Flatten{});
  model.add(testing::random_linear(rng, model.output.quant, plan_model(model).output().shape[0], 10, b));
  return model;
}

TEST(RunFastKernels, WholeModelsEqualTheReferenceOnAnyThreadCount) {
  std::mt19937 rng(25);
  for (int i = 0; i < 12; ++i) {
    LayerBits b;
    b.weight_bits = 2 + i % 7;
    b.per_channel = i % 2 == 0;
    const Model model = i % 3 == 2 ? testing::small_cnn(rng, b) : tutorial_like(rng, i % 3 == 0 ? 1 : 4, b);
    const IntTensor input = testing::random_input(rng, model, 13);
    const IntTensor expected = run(model, input, {.kernels = KernelChoice::Reference});
    for (const int threads : {1, 2, 3}) {
      const IntTensor actual = run(model, input, {.threads = threads});
      ASSERT_EQ(actual.shape, expected.shape);
      ASSERT_EQ(actual.data, expected.data) << "model " << i << ", " << threads << " threads";
    }
  }
}

TEST(RunFastKernels, ConcurrentRunsGiveTheSameResults) {
  std::mt19937 rng(28);
  const Model model = tutorial_like(rng, 4, LayerBits{});
  const IntTensor input = testing::random_input(rng, model, 24);
  const IntTensor expected = run(model, input, {.kernels = KernelChoice::Reference});
  std::vector<IntTensor> results(4);
  {
    std::vector<std::jthread> callers;
    for (size_t i = 0; i < results.size(); ++i)
      callers.emplace_back([&, i] { results[i] = run(model, input, {.threads = 2}); });
  }
  for (const IntTensor& r : results)
    EXPECT_EQ(r.data, expected.data);
}

TEST(ConvDotPath, NoticesWeightsChangedInPlace) {
  std::mt19937 rng(26);
  Scratch scratch;  // keeps the packed weights of the ops it has seen, keyed by the op's address
  for (int i = 0; i < 10; ++i) {
    ConvCase c = random_stride1_conv(rng, 8);
    std::vector<int32_t> before(static_cast<size_t>(checked_numel(c.output_shape, "test")));
    conv2d_fast(c.conv, c.input_shape, c.input, before, RequantMode::Integer, scratch);
    // Same op object, new weights and bias: the cache must not serve the old packing.
    const int32_t qmin = code_min(c.conv.weight.bits, c.conv.weight.is_signed);
    const int32_t qmax = code_max(c.conv.weight.bits, c.conv.weight.is_signed);
    for (auto& code : c.conv.weight.codes)
      code = static_cast<int16_t>(qmin + qmax - code);
    for (auto& b : c.conv.bias)
      b = -b;
    std::vector<int32_t> expected(before.size()), actual(before.size(), -12345);
    conv2d_reference(c.conv, c.input_shape, c.input, expected, RequantMode::Integer);
    conv2d_fast(c.conv, c.input_shape, c.input, actual, RequantMode::Integer, scratch);
    EXPECT_EQ(actual, expected) << "case " << i;
  }
}

}  // namespace
}  // namespace qg::runtime
