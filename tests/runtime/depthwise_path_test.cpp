// The depthwise path of the integer conv (runtime/ops/conv2d_depthwise.h) is bit-exact (EXPECT_EQ) with
// conv2d_reference on random depthwise convs: channel multipliers 1..3, kernels 1..5, strides 1..3, padding,
// dilation, 1..8-bit and signed codes, per-channel weights, both requantization modes and every instruction
// set this CPU runs; and conv2d_fast routes depthwise convs to it.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <vector>

#include "random_models.h"
#include "runtime/ops/conv2d_depthwise.h"

namespace qg::runtime {
namespace {

using testing::distinct_values;

TEST(DepthwisePath, AppliesToOneInputChannelPerGroup) {
  std::mt19937 rng(3);
  const QuantParams input = testing::random_activation_quant(rng, 8, false);
  const testing::LayerBits b = testing::random_layer_bits(rng);
  EXPECT_TRUE(conv2d_depthwise_applies(testing::random_conv(rng, input, 8, 8, 8, testing::window(3), b)));
  EXPECT_TRUE(conv2d_depthwise_applies(testing::random_conv(rng, input, 4, 12, 4, testing::window(3), b)));
  EXPECT_FALSE(conv2d_depthwise_applies(testing::random_conv(rng, input, 8, 8, 4, testing::window(3), b)));
  // One input channel and one group is an ordinary conv (an image model's first layer): the dot path's.
  EXPECT_FALSE(conv2d_depthwise_applies(testing::random_conv(rng, input, 1, 8, 1, testing::window(3), b)));
}

TEST(DepthwisePath, BitExactWithReferenceOnRandomShapes) {
  std::mt19937 rng(29);
  std::uniform_int_distribution<int64_t> channels(2, 9), multiplier(1, 3), size(3, 20), kernel(1, 5),
      stride(1, 3), padding(0, 2), dilation(1, 2);
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  Scratch scratch;  // reused across cases and sizes, as run() does
  int cases = 0, strided = 0, multiplied = 0, padded = 0, varied = 0, compared = 0;
  while (cases < 200) {
    const testing::ConvCase c = testing::draw_fitting_conv(rng, [&] {
      const int64_t groups = channels(rng), m = multiplier(rng);
      const Window2d window{{kernel(rng), kernel(rng)},
                            {stride(rng), stride(rng)},
                            {padding(rng), padding(rng)},
                            {dilation(rng), dilation(rng)}};
      const Dims in{groups, size(rng), size(rng)};
      const QuantParams input = testing::random_activation_quant(rng, bits(rng), coin(rng));
      return testing::ConvCase{.conv = testing::random_conv(rng, input, groups, groups * m, groups, window,
                                                            testing::random_layer_bits(rng)),
                               .input_shape = in};
    });
    const int64_t m = c.conv.out_channels / c.conv.groups;  // the channel multiplier
    ASSERT_NO_THROW(c.conv.output_quant(c.conv.input_quant));
    ASSERT_TRUE(conv2d_depthwise_applies(c.conv));
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(c.output_shape, "test")));
      conv2d_reference(c.conv, c.input_shape, c.input, expected, mode);
      for (const int8::Isa isa : int8::available_isas()) {
        std::vector<int32_t> actual(expected.size(), -12345);
        conv2d_depthwise(c.conv, c.input_shape, c.input, actual, mode, scratch, isa);
        ASSERT_EQ(actual, expected) << "input " << dims_to_string(c.input_shape) << ", multiplier " << m
                                    << ", " << c.conv.window.describe() << ", " << int8::isa_name(isa);
        ++compared;
      }
      std::vector<int32_t> routed(expected.size(), -12345);
      conv2d_fast(c.conv, c.input_shape, c.input, routed, mode, scratch);
      ASSERT_EQ(routed, expected) << "conv2d_fast, input " << dims_to_string(c.input_shape) << ", "
                                  << c.conv.window.describe();
      varied += distinct_values(expected) > 1 ? 1 : 0;
    }
    ++cases;
    strided += c.conv.window.stride[0] > 1 || c.conv.window.stride[1] > 1 ? 1 : 0;
    multiplied += m > 1 ? 1 : 0;
    padded += c.conv.window.padding[0] > 0 || c.conv.window.padding[1] > 0 ? 1 : 0;
  }
  // The comparison is only meaningful if the cases cover the features and the outputs are not all clamped.
  std::cout << "[ coverage ] " << strided << " strided, " << multiplied << " with a channel multiplier, "
            << padded << " padded, " << varied << " of 400 outputs not constant, " << compared
            << " comparisons\n";
  EXPECT_GT(strided, 80);
  EXPECT_GT(multiplied, 80);
  EXPECT_GT(padded, 80);
  EXPECT_GT(varied, 250);
}

}  // namespace
}  // namespace qg::runtime
