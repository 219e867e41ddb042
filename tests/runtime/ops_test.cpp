// Each op's reference kernel on small cases computed by hand (the arithmetic is in the comments).
#include <gtest/gtest.h>

#include <vector>

#include "runtime/op.h"
#include "runtime/ops/input_quantize.h"
#include "runtime/ops/output_dequantize.h"
#include "runtime/run.h"

namespace qg::runtime {
namespace {

/// A per-tensor output stage with multiplier M (S1 = 1, S2 = 1, S3 = 1/M) and output zero point Z.
OutputStage stage(double m, int32_t zero, int bits = 8, bool fused_relu = false) {
  return OutputStage::make(1.0, {1.0}, QuantParams{1.0 / m, zero, bits, false}, fused_relu);
}

QuantizedWeights weights(Dims shape, std::vector<int16_t> codes, std::vector<int32_t> zeros, int bits = 8,
                         bool is_signed = false) {
  return QuantizedWeights{
      std::move(shape), std::move(codes), bits, is_signed, std::vector<double>(zeros.size(), 1.0),
      std::move(zeros)};
}

// Input codes (Z1 = 2)          offsets q1 - Z1       weight codes (Z2 = 1)   offsets
//   3 2 5                        1 0  3                2 1                     1  0
//   2 4 2                        0 2  0                1 0                     0 -1
//   6 2 1                        4 0 -1
Conv2d hand_conv(const Window2d& window, double m) {
  Conv2d conv;
  conv.in_channels = 1;
  conv.out_channels = 1;
  conv.window = window;
  conv.input_quant = QuantParams{1.0, 2, 8, false};
  conv.weight = weights({1, 1, 2, 2}, {2, 1, 1, 0}, {1});
  conv.bias = {3};
  conv.output_stage = stage(m, 10);
  EXPECT_NO_THROW(conv.output_quant(conv.input_quant));  // weight shape matches the window, etc.
  return conv;
}
const Window2d kValid2x2{{2, 2}, {1, 1}, {0, 0}, {1, 1}};
const std::vector<int32_t> kHandImage = {3, 2, 5, 2, 4, 2, 6, 2, 1};

TEST(Conv2dReference, HandComputedValidConvolution) {
  // acc = 3 + [1*1 + 2*(-1), 0, 0, 2*1 + (-1)*(-1)] = [2, 3, 3, 6]; q3 = 10 + round(acc / 2)
  // = 10 + [1, round(1.5) = 2, 2, 3]: the 1.5 ties round away from zero in the integer mode.
  const Conv2d conv = hand_conv(kValid2x2, 0.5);
  const Dims in{1, 3, 3};
  ASSERT_EQ(conv.output_shape(in), (Dims{1, 2, 2}));
  std::vector<int32_t> out(4);
  conv2d_reference(conv, in, kHandImage, out, RequantMode::Integer);
  EXPECT_EQ(out, (std::vector<int32_t>{11, 12, 12, 13}));
  // The float reference rounds the 1.5 ties half to even, which is also 2.
  conv2d_reference(conv, in, kHandImage, out, RequantMode::FloatReference);
  EXPECT_EQ(out, (std::vector<int32_t>{11, 12, 12, 13}));
}

TEST(Conv2dReference, PaddingIsRealZeroAndStrideSkips) {
  // Padding 1, stride 2: windows start at rows/cols -1 and 1. Padded cells hold Z1 (offset 0):
  //   (0,0): only image cell (0,0) under weight (1,1): 1 * -1 = -1  -> acc 2
  //   (0,1): cells (0,1),(0,2) under weights (1,0),(1,1): 0 + 3 * -1 -> acc 0
  //   (1,0): cells (1,0),(2,0) under weights (0,1),(1,1): 0 + 4 * -1 -> acc -1
  //   (1,1): cells (1,1),(1,2),(2,1),(2,2): 2*1 + 0 + 0 + (-1)(-1)   -> acc 6
  const Conv2d conv = hand_conv(Window2d{{2, 2}, {2, 2}, {1, 1}, {1, 1}}, 1.0);
  const Dims in{1, 3, 3};
  ASSERT_EQ(conv.output_shape(in), (Dims{1, 2, 2}));
  std::vector<int32_t> out(4);
  conv2d_reference(conv, in, kHandImage, out, RequantMode::Integer);
  EXPECT_EQ(out, (std::vector<int32_t>{12, 10, 9, 16}));
}

TEST(Conv2dReference, GroupsDilationAndPerChannelZeroPoints) {
  // Two groups of one channel, 2x2 kernel with dilation 2 on 3x3: one output reading the corners.
  // Channel 0 = 1..9 (corners 1,3,7,9), weights 1,2,3,4 (Z2 = 0): 1 + 6 + 21 + 36 = 64.
  // Channel 1 = 9..1 (corners 9,7,3,1), weights all 2 with Z2 = 1 (offsets 1): 9 + 7 + 3 + 1 = 20.
  Conv2d conv;
  conv.in_channels = 2;
  conv.out_channels = 2;
  conv.groups = 2;
  conv.window = Window2d{{2, 2}, {1, 1}, {0, 0}, {2, 2}};
  conv.input_quant = QuantParams{1.0, 0, 8, false};
  conv.weight = weights({2, 1, 2, 2}, {1, 2, 3, 4, 2, 2, 2, 2}, {0, 1});
  conv.output_stage = OutputStage::make(1.0, {1.0, 1.0}, QuantParams{1.0, 0, 8, false}, false);
  const std::vector<int32_t> image = {1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  ASSERT_EQ(conv.output_shape({2, 3, 3}), (Dims{2, 1, 1}));
  ASSERT_NO_THROW(conv.output_quant(conv.input_quant));
  std::vector<int32_t> out(2);
  conv2d_reference(conv, {2, 3, 3}, image, out, RequantMode::Integer);
  EXPECT_EQ(out, (std::vector<int32_t>{64, 20}));
}

TEST(Conv2dReference, FusedReluClampsAtTheOutputZeroPoint) {
  // Same valid convolution, accumulators [2, 3, 3, 6], but M = 1 and Z3 = 4 with bias -5:
  // acc - 5 = [-3, -2, -2, 1] -> 4 + that = [1, 2, 2, 5] -> ReLU clamp at 4 -> [4, 4, 4, 5].
  Conv2d conv = hand_conv(kValid2x2, 1.0);
  conv.bias = {-2};
  conv.output_stage = stage(1.0, 4, 8, /*fused_relu=*/true);
  ASSERT_NO_THROW(conv.output_quant(conv.input_quant));
  std::vector<int32_t> out(4);
  conv2d_reference(conv, {1, 3, 3}, kHandImage, out, RequantMode::Integer);
  EXPECT_EQ(out, (std::vector<int32_t>{4, 4, 4, 5}));
}

TEST(Conv2dReference, ShapeErrorsNameWhatWasExpected) {
  const Conv2d conv = hand_conv(kValid2x2, 1.0);
  try {
    conv.output_shape({3, 3, 3});
    FAIL() << "expected a channel mismatch";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "input has 3 channels but the layer expects 1 (input [3,3,3], weight [1,1,2,2])");
  }
  EXPECT_THROW(conv.output_shape({1, 1, 3}), std::invalid_argument);  // kernel taller than the image
  EXPECT_THROW(conv.output_shape({9}), std::invalid_argument);
}

TEST(LinearReference, HandComputedPerChannel) {
  // x = [5, 0, 3], Z1 = 1 -> offsets [4, -1, 2]. Rows [1,2,3] with Z2 = 2 -> [-1, 0, 1]; [0,0,4] with
  // Z2 = 0. acc = [-4 + 2, 8] + bias [1, -1] = [-1, 7]; M = [1, 0.25], Z3 = 100 -> [99, 100 + round(1.75)].
  Linear linear;
  linear.in_features = 3;
  linear.out_features = 2;
  linear.input_quant = QuantParams{1.0, 1, 8, false};
  linear.weight = weights({2, 3}, {1, 2, 3, 0, 0, 4}, {2, 0});
  linear.weight.scales = {1.0, 0.25};
  linear.bias = {1, -1};
  linear.output_stage = OutputStage::make(1.0, linear.weight.scales, QuantParams{1.0, 100, 8, false}, false);
  ASSERT_NO_THROW(linear.output_quant(linear.input_quant));
  std::vector<int32_t> out(2);
  linear_reference(linear, std::vector<int32_t>{5, 0, 3}, out, RequantMode::Integer);
  EXPECT_EQ(out, (std::vector<int32_t>{99, 102}));
}

TEST(LinearReference, SignedCodes) {
  // 4-bit signed: x = [-8, 7] with Z1 = -1 -> [-7, 8]; w = [-8, 3] with Z2 = 0; acc = 56 + 24 = 80;
  // M = 1/16, Z3 = 0 -> round(5) = 5. Weights [6, 6] -> acc = -42 + 48 = 6 -> round(0.375) = 0.
  Linear linear;
  linear.in_features = 2;
  linear.out_features = 2;
  linear.input_quant = QuantParams{1.0, -1, 4, true};
  linear.weight = weights({2, 2}, {-8, 3, 6, 6}, {0}, 4, true);
  linear.output_stage = OutputStage::make(1.0, {1.0}, QuantParams{16.0, 0, 4, true}, false);
  ASSERT_NO_THROW(linear.output_quant(linear.input_quant));
  std::vector<int32_t> out(2);
  linear_reference(linear, std::vector<int32_t>{-8, 7}, out, RequantMode::Integer);
  EXPECT_EQ(out, (std::vector<int32_t>{5, 0}));
}

TEST(MaxPool2dReference, HandComputedWithAndWithoutPadding) {
  //  1  5  2  0
  //  3  4  9  8
  //  7  0  6  1
  //  2  2  3 11
  const std::vector<int32_t> image = {1, 5, 2, 0, 3, 4, 9, 8, 7, 0, 6, 1, 2, 2, 3, 11};
  const MaxPool2d pool{Window2d{{2, 2}, {2, 2}, {0, 0}, {1, 1}}};
  ASSERT_EQ(pool.output_shape({1, 4, 4}), (Dims{1, 2, 2}));
  std::vector<int32_t> out(4);
  max_pool2d_reference(pool, {1, 4, 4}, image, out);
  EXPECT_EQ(out, (std::vector<int32_t>{5, 9, 7, 11}));
  // Kernel 3, stride 2, padding 1: windows rows/cols [-1..1] and [1..3]; padding never wins.
  const MaxPool2d padded{Window2d{{3, 3}, {2, 2}, {1, 1}, {1, 1}}};
  ASSERT_EQ(padded.output_shape({1, 4, 4}), (Dims{1, 2, 2}));
  max_pool2d_reference(padded, {1, 4, 4}, image, out);
  EXPECT_EQ(out, (std::vector<int32_t>{5, 9, 7, 11}));
  const MaxPool2d too_much_padding{Window2d{{2, 2}, {2, 2}, {2, 2}, {1, 1}}};
  EXPECT_THROW(too_much_padding.output_shape({1, 4, 4}), std::invalid_argument);
}

TEST(AvgPool2dReference, RoundsHalfAwayAndCountsPadding) {
  // Z = 3, image [[4, 5], [6, 8]] -> offsets 1, 2, 3, 5: sum 11 / 4 = 2.75 -> 3 -> code 6.
  const QuantParams q{0.1, 3, 8, false};
  const std::vector<int32_t> image = {4, 5, 6, 8};
  std::vector<int32_t> one(1);
  avg_pool2d_reference(AvgPool2d{Window2d{{2, 2}, {2, 2}, {0, 0}, {1, 1}}}, q, {1, 2, 2}, image, one);
  EXPECT_EQ(one, (std::vector<int32_t>{6}));
  // Padding 1, kernel 2, stride 2: each window holds one image cell and three padding cells (offset 0),
  // divisor 4: offsets 1, 2, 3, 5 -> 0.25, 0.5, 0.75, 1.25 -> 0, 1 (tie away), 1, 1 -> 3, 4, 4, 4.
  const AvgPool2d padded{Window2d{{2, 2}, {2, 2}, {1, 1}, {1, 1}}};
  ASSERT_EQ(padded.output_shape({1, 2, 2}), (Dims{1, 2, 2}));
  std::vector<int32_t> four(4);
  avg_pool2d_reference(padded, q, {1, 2, 2}, image, four);
  EXPECT_EQ(four, (std::vector<int32_t>{3, 4, 4, 4}));
  // A negative tie: offsets -2 and 1 -> -0.5 -> -1 -> code 2.
  avg_pool2d_reference(AvgPool2d{Window2d{{1, 2}, {1, 2}, {0, 0}, {1, 1}}}, q, {1, 1, 2},
                       std::vector<int32_t>{1, 4}, one);
  EXPECT_EQ(one, (std::vector<int32_t>{2}));
}

TEST(DivideRoundHalfAway, Ties) {
  EXPECT_EQ(divide_round_half_away(5, 2), 3);
  EXPECT_EQ(divide_round_half_away(-5, 2), -3);
  EXPECT_EQ(divide_round_half_away(7, 4), 2);
  EXPECT_EQ(divide_round_half_away(-5, 4), -1);
  EXPECT_EQ(divide_round_half_away(4, 3), 1);
  EXPECT_EQ(divide_round_half_away(-5, 3), -2);
}

TEST(ReluReference, MaxWithZeroPoint) {
  std::vector<int32_t> out(4);
  relu_reference(QuantParams{0.1, 5, 8, false}, std::vector<int32_t>{0, 5, 10, 4}, out);
  EXPECT_EQ(out, (std::vector<int32_t>{5, 5, 10, 5}));
  relu_reference(QuantParams{0.1, -3, 4, true}, std::vector<int32_t>{-8, -3, 7, -4}, out);
  EXPECT_EQ(out, (std::vector<int32_t>{-3, -3, 7, -3}));
}

TEST(FlattenReference, KeepsChannelMajorOrder) {
  EXPECT_EQ(Flatten{}.output_shape({2, 3, 4}), (Dims{24}));
  std::vector<int32_t> out(3);
  flatten_reference(std::vector<int32_t>{7, 8, 9}, out);
  EXPECT_EQ(out, (std::vector<int32_t>{7, 8, 9}));
}

// validate() decides with one vectorised pass and names the first bad code only when there is one.
TEST(QuantizedWeights, ValidateNamesTheFirstCodeOutOfRange) {
  EXPECT_NO_THROW(weights({4}, {0, 15, 7, 3}, {0}, 4).validate("w"));
  try {
    weights({4}, {0, 15, 16, -1}, {0}, 4).validate("w");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "w: weight code 16 at element 2 is not a 4-bit unsigned code ([0, 15])");
  }
  EXPECT_NO_THROW(weights({3}, {-1, 1, 1}, {0}, 1, true).validate("w"));
  try {
    weights({3}, {-1, 0, 1}, {0}, 1, true).validate("w");  // binary: 0 is not a code
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "w: weight code 0 at element 1 is not a 1-bit signed code ([-1, 1] without 0: binary)");
  }
}

TEST(OutputStage, MakeComputesMultipliersAndReluClamp) {
  const QuantParams out{0.5, 20, 8, false};
  const OutputStage s = OutputStage::make(0.1, {0.2, 0.4}, out, true);
  ASSERT_EQ(s.real_multipliers.size(), 2u);
  EXPECT_DOUBLE_EQ(s.real_multipliers[0], 0.1 * 0.2 / 0.5);
  EXPECT_DOUBLE_EQ(s.real_multipliers[1], 0.1 * 0.4 / 0.5);
  EXPECT_EQ(s.multipliers[1], quantize_multiplier(0.1 * 0.4 / 0.5));
  EXPECT_EQ(s.clamp_min, 20);
  EXPECT_EQ(s.clamp_max, 255);
  EXPECT_EQ(OutputStage::make(0.1, {0.2}, out, false).clamp_min, 0);
  EXPECT_NO_THROW(s.validate(2, "stage"));
  EXPECT_THROW(s.validate(3, "stage"), std::invalid_argument);
}

TEST(OutputStage, ModesDifferOnlyInTieRounding) {
  // acc 5 at M = 0.5 is 2.5: the fixed point rounds away from zero (3), the float reference to even (2).
  const OutputStage s = stage(0.5, 10);
  EXPECT_EQ(s.apply(5, 0, RequantMode::Integer), 13);
  EXPECT_EQ(s.apply(5, 0, RequantMode::FloatReference), 12);
  EXPECT_EQ(s.apply(7, 0, RequantMode::Integer), 14);
  EXPECT_EQ(s.apply(7, 0, RequantMode::FloatReference), 14);
  EXPECT_EQ(s.apply(1000, 0, RequantMode::Integer), 255);  // clamp high
  EXPECT_EQ(s.apply(-1000, 0, RequantMode::Integer), 0);   // clamp low
  EXPECT_EQ(s.apply(2147483647, 0, RequantMode::Integer), 255);
}

TEST(OutputStage, ValidateRejectsInconsistentMultiplierAndClamp) {
  OutputStage s = stage(0.5, 10);
  s.multipliers[0].multiplier += 1;
  EXPECT_THROW(s.validate(1, "stage"), std::invalid_argument);
  s = stage(0.5, 10);
  s.clamp_max = 256;
  EXPECT_THROW(s.validate(1, "stage"), std::invalid_argument);
  s = stage(0.5, 10);
  s.clamp_min = 100;
  s.clamp_max = 99;
  EXPECT_THROW(s.validate(1, "stage"), std::invalid_argument);
}

InputQuantize hand_input() {
  // x = (p/255 - 0.5) / 0.25, S = 1/64, Z = 128: p = 255 -> x = 2 -> 256 -> clamped 255; p = 0 -> x = -2
  // -> 0; p = 51 -> x = -1.2 -> 128 - 76.8 = 51.2 -> 51; p = 204 -> x = 1.2 -> 204.8 -> 205.
  InputQuantize input;
  input.shape = {1, 2, 2};
  input.quant = QuantParams{1.0 / 64, 128, 8, false};
  input.mean = {0.5};
  input.stddev = {0.25};
  return input;
}

TEST(InputQuantize, PixelsWithFoldedNormalisation) {
  const std::vector<uint8_t> pixels = {255, 0, 51, 204};
  const IntTensor q = input_quantize_pixels_reference(hand_input(), pixels);
  EXPECT_EQ(q.shape, (Dims{1, 1, 2, 2}));
  EXPECT_EQ(q.data, (std::vector<int32_t>{255, 0, 51, 205}));
  EXPECT_EQ(input_quantize_pixels_fast(hand_input(), pixels).data, q.data);
  EXPECT_THROW(input_quantize_pixels_reference(hand_input(), std::vector<uint8_t>(5)), std::invalid_argument);
}

TEST(InputQuantize, NormalizedValuesRoundHalfToEvenLikeTorch) {
  // S = 0.5, Z = 0, 8-bit signed: x / S = 0.5, 1.5, 2.5, -2.5 -> 0, 2, 2, -2 (half to even).
  InputQuantize input;
  input.shape = {4};
  input.quant = QuantParams{0.5, 0, 8, true};
  const IntTensor q = input_quantize_normalized(input, std::vector<float>{0.25f, 0.75f, 1.25f, -1.25f});
  EXPECT_EQ(q.data, (std::vector<int32_t>{0, 2, 2, -2}));
}

TEST(InputQuantize, PerChannelNormalisationUsesTheRightChannel) {
  InputQuantize input;
  input.shape = {2, 1, 2};
  input.quant = QuantParams{0.01, 0, 8, true};
  input.mean = {0.0, 1.0};
  input.stddev = {1.0, 0.5};
  // Channel 0: x = p/255; channel 1: x = (p/255 - 1) / 0.5. p = 255 -> 1 -> 100 (0.01 scale, clamps 127).
  const IntTensor q = input_quantize_pixels_reference(input, std::vector<uint8_t>{255, 0, 255, 0});
  EXPECT_EQ(q.data, (std::vector<int32_t>{100, 0, 0, -128}));
  EXPECT_EQ(input_quantize_pixels_fast(input, std::vector<uint8_t>{255, 0, 255, 0}).data, q.data);
}

TEST(OutputDequantize, ScaleTimesOffset) {
  const OutputDequantize out{QuantParams{0.5, 3, 8, false}};
  EXPECT_EQ(output_dequantize(out, std::vector<int32_t>{3, 5, 0}), (std::vector<float>{0.0f, 1.0f, -1.5f}));
}

TEST(Predict, ArgmaxWithTiesToTheLowestIndex) {
  const IntTensor logits{{3, 4}, {1, 9, 9, 2, 5, 5, 5, 5, 0, 1, 2, 3}};
  EXPECT_EQ(predict(logits), (std::vector<int64_t>{1, 0, 3}));
  EXPECT_THROW(predict(IntTensor{{4}, {1, 2, 3, 4}}), std::invalid_argument);
}

}  // namespace
}  // namespace qg::runtime
