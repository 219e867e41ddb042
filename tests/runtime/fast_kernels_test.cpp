// Every fast kernel is bit-exact (EXPECT_EQ) with its naive reference on random shapes and codes,
// covering groups, dilation, stride, padding, per-channel weights, 1..8-bit and signed codes.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <vector>

#include "random_models.h"
#include "runtime/op.h"
#include "runtime/ops/input_quantize.h"

namespace qg::runtime {
namespace {

using testing::distinct_values;
using testing::LayerBits;

TEST(Conv2dFast, BitExactWithReferenceOnRandomShapes) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> small(1, 3), size(3, 11), kernel(1, 4), padding(0, 2);
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  Scratch scratch;  // reused across cases, as run() does
  int cases = 0, grouped = 0, dilated = 0, varied = 0;
  while (cases < 150) {
    const testing::ConvCase c = testing::draw_fitting_conv(rng, [&] {
      const int64_t groups = small(rng);
      const int64_t in_channels = groups * small(rng), out_channels = groups * small(rng);
      const Window2d window{{kernel(rng), kernel(rng)},
                            {small(rng), small(rng)},
                            {padding(rng), padding(rng)},
                            {small(rng), small(rng)}};
      const Dims in{in_channels, size(rng), size(rng)};
      const QuantParams input = testing::random_activation_quant(rng, bits(rng), coin(rng));
      return testing::ConvCase{.conv = testing::random_conv(rng, input, in_channels, out_channels, groups,
                                                            window, testing::random_layer_bits(rng)),
                               .input_shape = in};
    });
    const int64_t groups = c.conv.groups;
    ASSERT_NO_THROW(c.conv.output_quant(c.conv.input_quant));
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(c.output_shape, "test")));
      std::vector<int32_t> actual(expected.size(), -12345);
      conv2d_reference(c.conv, c.input_shape, c.input, expected, mode);
      conv2d_fast(c.conv, c.input_shape, c.input, actual, mode, scratch);
      ASSERT_EQ(actual, expected) << "input " << dims_to_string(c.input_shape) << ", groups " << groups
                                  << ", " << c.conv.window.describe();
      varied += distinct_values(expected) > 1 ? 1 : 0;
    }
    ++cases;
    grouped += groups > 1 ? 1 : 0;
    dilated += c.conv.window.dilation[0] > 1 || c.conv.window.dilation[1] > 1 ? 1 : 0;
  }
  // The comparison is only meaningful if the cases cover the features and the outputs are not all clamped.
  EXPECT_GT(grouped, 50);
  EXPECT_GT(dilated, 50);
  std::cout << "[ coverage ] " << grouped << " grouped, " << dilated << " dilated, " << varied
            << " of 300 outputs not constant\n";
  EXPECT_GT(varied, 200);
}

TEST(LinearFast, BitExactWithReferenceOnRandomShapes) {
  std::mt19937 rng(12);
  std::uniform_int_distribution<int64_t> features(1, 300);
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  Scratch scratch;
  int varied = 0;
  for (int i = 0; i < 150; ++i) {
    const QuantParams input = testing::random_activation_quant(rng, bits(rng), coin(rng));
    const int64_t in_features = features(rng), out_features = features(rng) % 37 + 4;
    const Linear linear =
        testing::random_linear(rng, input, in_features, out_features, testing::random_layer_bits(rng));
    ASSERT_NO_THROW(linear.output_quant(input));
    const std::vector<int32_t> x = testing::random_codes(rng, in_features, input);
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> expected(static_cast<size_t>(out_features)), actual(expected.size(), -12345);
      linear_reference(linear, x, expected, mode);
      linear_fast(linear, x, actual, mode, scratch);
      ASSERT_EQ(actual, expected) << in_features << " -> " << out_features;
      varied += distinct_values(expected) > 1 ? 1 : 0;
    }
  }
  std::cout << "[ coverage ] " << varied << " of 300 outputs not constant\n";
  EXPECT_GT(varied, 200);
}

TEST(InputQuantizeFast, LookupTableBitExactWithReference) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> pixel(0, 255), bits(1, 8);
  std::uniform_real_distribution<double> mean(-0.5, 1.0), stddev(0.05, 2.0);
  std::bernoulli_distribution coin(0.5);
  for (int i = 0; i < 40; ++i) {
    InputQuantize input;
    const int64_t channels = coin(rng) ? 1 : 3;
    input.shape = {channels, 5, 7};
    input.quant = testing::random_activation_quant(rng, bits(rng), coin(rng));
    const size_t stats = coin(rng) ? 1 : static_cast<size_t>(channels);
    input.mean.assign(stats, 0.0);
    input.stddev.assign(stats, 1.0);
    for (size_t c = 0; c < stats; ++c) {
      input.mean[c] = mean(rng);
      input.stddev[c] = stddev(rng);
    }
    std::vector<uint8_t> pixels(static_cast<size_t>(4 * channels * 35));
    for (auto& p : pixels)
      p = static_cast<uint8_t>(pixel(rng));
    const IntTensor expected = input_quantize_pixels_reference(input, pixels);
    const IntTensor actual = input_quantize_pixels_fast(input, pixels);
    ASSERT_EQ(actual.shape, expected.shape);
    ASSERT_EQ(actual.data, expected.data);
  }
}

}  // namespace
}  // namespace qg::runtime
