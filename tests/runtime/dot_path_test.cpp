// The integer fast paths added for speed, each bit-exact (EXPECT_EQ) with the naive reference:
//  * the dot-product conv (conv2d_dot.h) in every instruction set this CPU runs (AVX-512 VNNI, AVX2,
//    portable), on random shapes, bit widths, signedness, padding, dilation, groups and strides (1 to 3,
//    each axis its own), and on the strided shapes of real networks (depthwise, 1x1 projections);
//  * the fused conv + 2x2 max pool (pooling the accumulators), at stride 1 and 2, and the vectorised
//    max_pool2d_fast;
//  * the output stage (requantize_rows, pool_requantize) against the scalar one: ties, extremes, weight
//    offset 0 with no S, and the AVX-512 short form at the edges of its shift and zero-point bounds; and
//    output channels packed around their zero point (no S) beside channels that need S;
//  * run() with the fast kernels against run() with the reference kernels, on whole models, batches and
//    thread counts, and after an op's weights change in place (the packed-weight cache must notice).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
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

using testing::ConvCase;

// A random conv on a random input, with the window fitting the image: stride 1, or with max_stride > 1 a
// stride from 1 to max_stride drawn for each axis.
ConvCase random_dot_conv(std::mt19937& rng, int64_t max_channels, int64_t max_size = 16,
                         int64_t max_stride = 1) {
  std::uniform_int_distribution<int64_t> groups_of(1, 3), channels(1, max_channels), size(4, max_size),
      kernel(1, 4), padding(0, 2), dilation(1, 2), stride(1, max_stride);
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  return testing::draw_fitting_conv(rng, [&] {
    const int64_t groups = groups_of(rng);
    const int64_t in_channels = groups * channels(rng), out_channels = groups * channels(rng);
    Window2d window{
        {kernel(rng), kernel(rng)}, {1, 1}, {padding(rng), padding(rng)}, {dilation(rng), dilation(rng)}};
    if (max_stride > 1)
      window.stride = {stride(rng), stride(rng)};  // (stride-1 cases draw as they always did)
    const Dims in{in_channels, size(rng), size(rng)};
    const QuantParams input = testing::random_activation_quant(rng, bits(rng), coin(rng));
    return ConvCase{.conv = testing::random_conv(rng, input, in_channels, out_channels, groups, window,
                                                 testing::random_layer_bits(rng)),
                    .input_shape = in};
  });
}

TEST(ConvDotPath, BitExactWithReferenceInEveryInstructionSet) {
  std::mt19937 rng(21);
  int varied = 0, cases = 0, wide = 0;
  Scratch scratch;
  for (int i = 0; i < 120; ++i) {
    // Up to 12 channels per group: both word layouts (several channels per word, or an im2col of taps).
    const ConvCase c = random_dot_conv(rng, 12);
    ASSERT_TRUE(conv2d_dot_applies(c.conv));
    wide += c.conv.in_channels / c.conv.groups >= 4 ? 1 : 0;
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(c.output_shape, "test")));
      conv2d_reference(c.conv, c.input_shape, c.input, expected, mode);
      varied += testing::distinct_values(expected) > 1 ? 1 : 0;
      for (const int8::Isa isa : int8::available_isas()) {
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
  for (const int8::Isa isa : int8::available_isas())
    std::cout << " " << int8::isa_name(isa);
  std::cout << "; " << wide << " of 120 convs with >= 4 channels per group; " << varied << " of " << cases
            << " outputs not constant\n";
  EXPECT_GT(wide, 20);
  EXPECT_GT(varied, cases / 2);
}

// conv2d_fast in every instruction set against conv2d_reference on one case; returns the reference output.
std::vector<int32_t> expect_every_isa_exact(const ConvCase& c, RequantMode mode, Scratch& scratch) {
  std::vector<int32_t> expected(static_cast<size_t>(checked_numel(c.output_shape, "test")));
  conv2d_reference(c.conv, c.input_shape, c.input, expected, mode);
  for (const int8::Isa isa : int8::available_isas()) {
    std::vector<int32_t> actual(expected.size(), -12345);
    conv2d_fast(c.conv, c.input_shape, c.input, actual, mode, scratch, isa);
    EXPECT_EQ(actual, expected) << int8::isa_name(isa) << ", input " << dims_to_string(c.input_shape) << ", "
                                << c.conv.out_channels << " outputs, groups " << c.conv.groups << ", "
                                << c.conv.window.describe();
  }
  return expected;
}

// Strided convs take the dot path through the phases of the padded input (conv2d_dot.h); a stride beyond
// the kernel's reach leaves phases no tap reads.
TEST(ConvDotPath, StridedBitExactWithReferenceInEveryInstructionSet) {
  std::mt19937 rng(29);
  int strided = 0, uneven = 0, dilated = 0, wide = 0, skipped_phases = 0, varied = 0, cases = 0;
  Scratch scratch;
  for (int i = 0; i < 160; ++i) {
    const ConvCase c = random_dot_conv(rng, 12, 21, 3);
    ASSERT_TRUE(conv2d_dot_applies(c.conv));
    const Window2d& w = c.conv.window;
    const bool is_strided = w.stride[0] > 1 || w.stride[1] > 1;
    strided += is_strided ? 1 : 0;
    uneven += w.stride[0] != w.stride[1] ? 1 : 0;
    dilated += is_strided && (w.dilation[0] > 1 || w.dilation[1] > 1) ? 1 : 0;
    wide += is_strided && c.conv.in_channels / c.conv.groups >= 4 ? 1 : 0;
    // Some phase is read by no tap when the taps' rows (or columns) miss a residue modulo the stride.
    const auto misses_a_phase = [](int64_t kernel, int64_t stride, int64_t dilation) {
      return kernel < stride || (stride > 1 && dilation % stride == 0);
    };
    skipped_phases += misses_a_phase(w.kernel[0], w.stride[0], w.dilation[0]) ||
                              misses_a_phase(w.kernel[1], w.stride[1], w.dilation[1])
                          ? 1
                          : 0;
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      varied += testing::distinct_values(expect_every_isa_exact(c, mode, scratch)) > 1 ? 1 : 0;
      ++cases;
    }
    if (HasFailure()) return;
  }
  std::cout << "[ coverage ] " << strided << " of 160 convs strided (" << uneven << " with unequal strides, "
            << dilated << " also dilated, " << wide << " with >= 4 channels per group), " << skipped_phases
            << " with phases no tap reads; " << varied << " of " << cases << " outputs not constant\n";
  EXPECT_GT(strided, 100);
  EXPECT_GT(uneven, 40);
  EXPECT_GT(dilated, 40);
  EXPECT_GT(wide, 30);
  EXPECT_GT(skipped_phases, 20);
  EXPECT_GT(varied, cases / 2);
}

// The strided layers of real networks: ResNet downsampling (3x3, stride 2, padding 1) and its 1x1
// projection, MobileNet's depthwise stride-2 conv, a 5x5 stride-2 first layer, a stride-3 conv; odd and even
// sizes, per-tensor and per-channel weights.
TEST(ConvDotPath, StridedNetworkShapesInEveryInstructionSet) {
  std::mt19937 rng(30);
  struct Shape {
    int64_t in, out, groups, size;
    Window2d window;
  };
  const Shape shapes[] = {
      {32, 64, 1, 28, testing::window(3, 2, 1)},  {64, 64, 1, 14, testing::window(3, 2, 1)},
      {64, 64, 1, 7, testing::window(3, 2, 1)},   {16, 32, 1, 28, testing::window(1, 2)},
      {32, 32, 32, 15, testing::window(3, 2, 1)}, {1, 16, 1, 28, testing::window(5, 2, 2)},
      {8, 8, 1, 17, testing::window(3, 3)},       {3, 5, 1, 13, testing::window(3, 2, 1)}};
  // Zero points near the middle of the codes, as trained layers have: with random ones the accumulators of
  // hundreds of products are dominated by K (mean a)(mean w), and every output clamps to the same code.
  std::uniform_int_distribution<int32_t> near_middle(118, 138);
  Scratch scratch;
  for (const Shape& s : shapes) {
    for (const bool per_channel : {false, true}) {
      LayerBits b;
      b.fused_relu = true;
      b.per_channel = per_channel;
      QuantParams input = testing::random_quant(rng, 8, false);
      input.zero_point = near_middle(rng);
      ConvCase c{.conv = testing::random_conv(rng, input, s.in, s.out, s.groups, s.window, b),
                 .input_shape = {s.in, s.size, s.size}};
      for (int32_t& zero : c.conv.weight.zero_points)
        zero = near_middle(rng);
      c.output_shape = c.conv.output_shape(c.input_shape);
      c.input = testing::random_codes(rng, checked_numel(c.input_shape, "test"), input);
      ASSERT_TRUE(conv2d_dot_applies(c.conv));
      EXPECT_GT(testing::distinct_values(expect_every_isa_exact(c, RequantMode::Integer, scratch)), 1)
          << s.in << "->" << s.out << ", " << s.window.describe();
    }
  }
}

// The words of several channels per word are gathered straight from the input codes (gather_words), one
// phase plane at a time: strides 2 and 3 on either axis (and stride 1 with padding), padding 0 to 2 (so the
// padding word, Z1 - qmin, fills the plane's edges), channel counts that leave a block part empty, signed
// codes (qmin < 0) and unsigned ones of 2 to 8 bits, and phase rows of up to 19 columns (more than the 16
// words of one AVX-512 step).
TEST(ConvDotPath, ChannelWordsGatheredFromTheCodesInEveryInstructionSet) {
  std::mt19937 rng(33);
  const std::array<int64_t, 2> strides[] = {{2, 2}, {3, 3}, {2, 3}, {3, 2}, {1, 2}, {1, 1}};
  const int64_t channel_counts[] = {3, 4, 5, 7, 9, 13};
  const int64_t sizes[] = {5, 16, 33, 38};
  std::uniform_int_distribution<int> bits(2, 8);
  std::uniform_int_distribution<int64_t> kernel(1, 3), groups_of(1, 2), out_channels(1, 9);
  std::uniform_int_distribution<int32_t> near_middle(-10, 10);
  Scratch scratch;
  int cases = 0, signed_inputs = 0, wide_rows = 0, padded = 0, varied = 0;
  for (const auto& stride : strides) {
    for (int64_t padding = 0; padding <= 2; ++padding) {
      for (const int64_t channels : channel_counts) {
        const bool is_signed = cases % 2 == 0;
        const int64_t groups = groups_of(rng), k = kernel(rng);
        const Dims in{groups * channels, sizes[cases % 4], sizes[(cases + 1) % 4]};
        Window2d window{{k, k}, stride, {padding, padding}, {1, 1}};
        if (stride == std::array<int64_t, 2>{1, 1})
          window.padding = {padding + 1, padding};  // never in place
        QuantParams input = testing::random_quant(rng, is_signed ? 8 : bits(rng), is_signed);
        // Zero points near the middle of the codes keep the outputs from all clamping to one code.
        input.zero_point =
            std::clamp((input.qmin() + input.qmax()) / 2 + near_middle(rng), input.qmin(), input.qmax());
        LayerBits b;
        b.per_channel = cases % 3 == 0;
        ConvCase c{
            .conv = testing::random_conv(rng, input, in[0], groups * out_channels(rng), groups, window, b),
            .input_shape = in};
        for (int32_t& zero : c.conv.weight.zero_points)
          zero = 128 + near_middle(rng);
        c.output_shape = c.conv.output_shape(in);
        c.input = testing::random_codes(rng, checked_numel(in, "test"), input);
        ASSERT_TRUE(conv2d_dot_applies(c.conv));
        varied +=
            testing::distinct_values(expect_every_isa_exact(c, RequantMode::Integer, scratch)) > 1 ? 1 : 0;
        if (HasFailure()) return;
        ++cases;
        signed_inputs += input.qmin() < 0 ? 1 : 0;
        padded += padding > 0 ? 1 : 0;
        // A phase plane's row holds about (W + 2 pad) / stride image columns.
        wide_rows += (in[2] + 2 * window.padding[1]) / window.stride[1] > 16 ? 1 : 0;
      }
    }
  }
  std::cout << "[ coverage ] " << cases << " convs: " << signed_inputs << " with signed input codes, "
            << padded << " padded, " << wide_rows << " with phase rows over 16 columns; " << varied
            << " outputs not constant\n";
  EXPECT_EQ(cases, 108);
  EXPECT_GT(signed_inputs, 40);
  EXPECT_GT(wide_rows, 20);
  EXPECT_GT(varied, cases * 3 / 4);
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
    for (const int8::Isa isa : int8::available_isas()) {
      std::vector<int32_t> actual(acc.size(), -12345);
      const QuantizedMultiplier m = stage.multipliers[0];
      int8::requantize_row(isa, acc.data(), zeros.data(), 0, 0, m.multiplier, m.shift, out.zero_point,
                           stage.clamp_min, stage.clamp_max, actual.data(), static_cast<int64_t>(acc.size()));
      ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", multiplier " << m.multiplier << " shift "
                                  << m.shift;
    }
  }
}

// requantize_rows against OutputStage::apply on each accumulator: rows of 1 to 40 codes (one or more AVX-512
// steps and a masked tail) read 0 to 3 positions apart beyond their codes, as conv2d_dot's accumulators lie
// (no gap: one run straight into out; gaps: the generic versions go through the span scratch).
TEST(RequantizeRows, MatchesTheOutputStageOnEachRow) {
  std::mt19937 rng(34);
  std::uniform_int_distribution<int32_t> acc_of(-300000, 300000), gap_of(0, 3);
  std::uniform_int_distribution<int64_t> rows_of(1, 6), columns_of(1, 40);
  std::uniform_real_distribution<double> exponent(-20.0, -8.0);
  std::bernoulli_distribution coin(0.5);
  int varied = 0, gappy = 0;
  for (int i = 0; i < 100; ++i) {
    const QuantParams out = testing::random_activation_quant(rng, 8, coin(rng));
    const OutputStage stage = OutputStage::make(1.0, {std::pow(2.0, exponent(rng))}, out, coin(rng));
    const QuantizedMultiplier m = stage.multipliers[0];
    const int64_t rows = rows_of(rng), columns = columns_of(rng), row = columns + gap_of(rng);
    const int64_t span = (rows - 1) * row + columns;
    std::vector<int32_t> d(static_cast<size_t>(span)), s(d.size());
    for (size_t k = 0; k < d.size(); ++k) {
      d[k] = acc_of(rng);
      s[k] = acc_of(rng) % 1000;
    }
    const int32_t offset = acc_of(rng) % 100;
    const int64_t constant = acc_of(rng);
    std::vector<int32_t> expected(static_cast<size_t>(rows * columns));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < columns; ++j) {
        const auto q = static_cast<size_t>(r * row + j);
        const auto acc = static_cast<int32_t>(d[q] + int64_t{offset} * s[q] + constant);
        expected[static_cast<size_t>(r * columns + j)] = stage.apply(acc, 0, RequantMode::Integer);
      }
    }
    for (const int8::Isa isa : int8::available_isas()) {
      std::vector<int32_t> actual(expected.size(), -12345), span_codes(d.size(), -777);
      int8::requantize_rows(isa, d.data(), s.data(), row, offset, constant, m.multiplier, m.shift,
                            out.zero_point, stage.clamp_min, stage.clamp_max, rows, columns, actual.data(),
                            span_codes.data());
      ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", " << rows << " rows of " << columns << " in "
                                  << row;
      varied += testing::distinct_values(expected) > 1 ? 1 : 0;
    }
    gappy += rows > 1 && row > columns ? 1 : 0;
  }
  EXPECT_GT(varied, 100);
  EXPECT_GT(gappy, 30);
}

// Exact ties, acc * M = j / 2 for j in -40..40 (M = 2^-k, so the multiplier is exactly 2^30 * 2^(1-k-30)),
// round half away from zero on every ISA: -3/2 -> -2, -1/2 -> -1, 1/2 -> 1, 3/2 -> 2 (the AVX-512 lanes
// round negative products with an arithmetic shift, runtime/ops/int8_kernels.cpp).
TEST(RequantizeRows, RoundsTiesAwayFromZeroOnEveryIsa) {
  for (const int k : {1, 5, 13, 20}) {
    const QuantizedMultiplier m = quantize_multiplier(std::ldexp(1.0, -k));
    ASSERT_EQ(m.multiplier, int32_t{1} << 30);
    std::vector<int32_t> d, s, expected;
    for (int32_t j = -40; j <= 40; ++j) {
      d.push_back(j * (int32_t{1} << (k - 1)));
      s.push_back(0);
      const int32_t half_away = j >= 0 ? (j + 1) / 2 : -((-j + 1) / 2);
      expected.push_back(100 + half_away);
    }
    const auto n = static_cast<int64_t>(d.size());
    for (const int8::Isa isa : int8::available_isas()) {
      std::vector<int32_t> actual(d.size(), -1);
      int8::requantize_rows(isa, d.data(), s.data(), n, 0, 0, m.multiplier, m.shift, 100, 0, 255, 1, n,
                            actual.data(), nullptr);
      EXPECT_EQ(actual, expected) << int8::isa_name(isa) << ", M = 2^-" << k;
    }
  }
}

// The AVX-512 output stage's short form (int8_kernels.cpp: shifts s = 31 - shift from 32 to 44, zero points
// up to 2^16 in magnitude, carried in the rounding term) at and beyond its edges, against the scalar
// requantize_to_code on every ISA: s from 30 to 62 (the whole range past 44: z 2^s must not overflow), zero
// points 0, +-1, +-2^15, +-2^16, +-(2^16 + 1), codes
// in a window of 1000 around the zero point, accumulators up to the int32 extremes.
TEST(RequantizeRows, ShortFormEdgesMatchTheScalarStageOnEveryIsa) {
  std::mt19937 rng(38);
  std::uniform_int_distribution<int32_t> any(std::numeric_limits<int32_t>::min(),
                                             std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> multiplier_of(int32_t{1} << 30, std::numeric_limits<int32_t>::max());
  int compared = 0, varied = 0;
  for (int total_shift = 30; total_shift <= 62; ++total_shift) {
    for (const int32_t zero :
         {0, 1, -1, 1 << 15, -(1 << 15), 1 << 16, -(1 << 16), (1 << 16) + 1, -(1 << 16) - 1}) {
      const QuantizedMultiplier m{multiplier_of(rng), 31 - total_shift};
      std::vector<int32_t> acc(35);
      for (auto& a : acc)  // some near 0, some at scales that land inside the code window
        a = rng() % 3 == 0 ? any(rng) : any(rng) >> std::uniform_int_distribution<int>(0, 31)(rng);
      acc[0] = std::numeric_limits<int32_t>::max();
      acc[1] = std::numeric_limits<int32_t>::min();
      const int32_t lo = zero - 500, hi = zero + 500;
      std::vector<int32_t> expected;
      for (const int32_t a : acc)
        expected.push_back(requantize_to_code(a, m, zero, lo, hi));
      varied += testing::distinct_values(expected) > 3 ? 1 : 0;
      const auto n = static_cast<int64_t>(acc.size());
      for (const int8::Isa isa : int8::available_isas()) {
        std::vector<int32_t> actual(acc.size(), -12345);
        int8::requantize_row(isa, acc.data(), nullptr, 0, 0, m.multiplier, m.shift, zero, lo, hi,
                             actual.data(), n);
        ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", s = " << total_shift << ", zero " << zero;
        ++compared;
      }
    }
  }
  EXPECT_GT(varied, 150);
  EXPECT_GE(compared, 33 * 9);
}

// With weight offset 0 the epilogue reads no S (conv2d_dot passes none when a group computes no S): s is
// null here, and requantize_rows and pool_requantize on every ISA match their definitions on accumulators up
// to +-2^30 with constants that keep d + constant in int32 (the fused AVX-512 pool adds the constant after
// the max), rows 1 to 40 wide with gaps.
TEST(RequantizeRows, ZeroWeightOffsetReadsNoSumsOnEveryIsa) {
  std::mt19937 rng(37);
  std::uniform_int_distribution<int32_t> d_of(-(1 << 30), 1 << 30), constant_of(-(1 << 30), (1 << 30) - 1),
      gap_of(0, 3);
  std::uniform_int_distribution<int64_t> rows_of(1, 6), columns_of(1, 40);
  std::uniform_real_distribution<double> exponent(-36.0, -24.0);
  std::bernoulli_distribution coin(0.5);
  int varied = 0;
  for (int i = 0; i < 100; ++i) {
    const QuantParams out = testing::random_activation_quant(rng, 8, coin(rng));
    const OutputStage stage = OutputStage::make(1.0, {std::pow(2.0, exponent(rng))}, out, coin(rng));
    const QuantizedMultiplier m = stage.multipliers[0];
    const int64_t rows = 2 * rows_of(rng), columns = 2 * columns_of(rng), row = columns + gap_of(rng);
    const int64_t span = (rows - 1) * row + columns;
    std::vector<int32_t> d(static_cast<size_t>(span));
    for (auto& v : d)
      v = d_of(rng);
    const int64_t constant = constant_of(rng);  // d + constant in [-2^31, 2^31 - 1]: int32
    const auto code = [&](int64_t q) {
      return stage.apply(static_cast<int32_t>(d[static_cast<size_t>(q)] + constant), 0, RequantMode::Integer);
    };
    std::vector<int32_t> expected(static_cast<size_t>(rows * columns)), pooled;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < columns; ++j)
        expected[static_cast<size_t>(r * columns + j)] = code(r * row + j);
    }
    for (int64_t r = 0; r < rows; r += 2) {  // the pool of the codes (the stage is monotone, conv2d_dot.h)
      for (int64_t j = 0; j < columns; j += 2)
        pooled.push_back(std::max({code(r * row + j), code(r * row + j + 1), code((r + 1) * row + j),
                                   code((r + 1) * row + j + 1)}));
    }
    for (const int8::Isa isa : int8::available_isas()) {
      std::vector<int32_t> actual(expected.size(), -12345), span_codes(d.size(), -777);
      int8::requantize_rows(isa, d.data(), nullptr, row, 0, constant, m.multiplier, m.shift, out.zero_point,
                            stage.clamp_min, stage.clamp_max, rows, columns, actual.data(),
                            span_codes.data());
      ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", " << rows << " rows of " << columns << " in "
                                  << row;
      std::vector<int32_t> pooled_actual(pooled.size(), -12345), maxima(pooled.size(), -777);
      int8::pool_requantize(isa, d.data(), nullptr, 0, constant, row, rows / 2, columns / 2, m.multiplier,
                            m.shift, out.zero_point, stage.clamp_min, stage.clamp_max, maxima.data(),
                            pooled_actual.data());
      ASSERT_EQ(pooled_actual, pooled)
          << int8::isa_name(isa) << ", pooled " << rows << " rows of " << columns << " in " << row;
    }
    varied += testing::distinct_values(pooled) > 1 ? 1 : 0;
  }
  EXPECT_GT(varied, 50);
}

// offset_rows against its definition, dst[i * dst_row + j] = source[i * source_row + j * step] - zero, at
// steps 1 to 3 (AVX-512's two masked-load steps and the generic loop) on 0 to 4 rows of 0 to 40 values, the
// source exactly as long as the rows read; the gaps between and after the rows stay untouched.
TEST(OffsetRows, MatchesItsDefinitionAtEveryStep) {
  std::mt19937 rng(35);
  std::uniform_int_distribution<int32_t> code_of(-128, 255), zero_of(-128, 255);
  std::uniform_int_distribution<int64_t> n_of(0, 40), step_of(1, 3), rows_of(0, 4), gap_of(0, 5);
  for (int i = 0; i < 300; ++i) {
    const int64_t n = n_of(rng), step = step_of(rng), rows = rows_of(rng);
    const int64_t source_row = std::max<int64_t>(n == 0 ? 0 : (n - 1) * step + 1, 1) + gap_of(rng);
    const int64_t dst_row = n + gap_of(rng);
    const int32_t zero = zero_of(rng);
    const int64_t read = rows == 0 || n == 0 ? 0 : (rows - 1) * source_row + (n - 1) * step + 1;
    std::vector<int32_t> source(static_cast<size_t>(std::max<int64_t>(read, 1)));  // never null
    for (auto& c : source)
      c = code_of(rng);
    std::vector<int32_t> expected(static_cast<size_t>(rows * dst_row) + 3, -12345);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < n; ++j)
        expected[static_cast<size_t>(r * dst_row + j)] =
            source[static_cast<size_t>(r * source_row + j * step)] - zero;
    }
    for (const int8::Isa isa : int8::available_isas()) {
      std::vector<int32_t> actual(expected.size(), -12345);
      int8::offset_rows(isa, source.data(), source_row, step, zero, rows, n, actual.data(), dst_row);
      ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", " << rows << " rows of " << n
                                  << " values at step " << step;
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
    for (const int8::Isa isa : int8::available_isas()) {
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
    const ConvCase c = random_dot_conv(rng, 10, i % 4 == 0 ? 70 : 16);
    if (c.output_shape[1] < 2 || c.output_shape[2] < 2) continue;
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> conv_out(static_cast<size_t>(checked_numel(c.output_shape, "test")));
      conv2d_reference(c.conv, c.input_shape, c.input, conv_out, mode);
      const Dims pooled_shape = pool.output_shape(c.output_shape);
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(pooled_shape, "test")));
      max_pool2d_reference(pool, c.output_shape, conv_out, expected);
      for (const int8::Isa isa : int8::available_isas()) {
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

// Whether every weight code of output channel oc lies in [Z2 - 128, Z2 + 127]: then conv2d_dot packs the
// channel around its zero point (weight offset 0, no S for it; a group of such channels computes no S).
bool codes_fit_around_zero_point(const Conv2d& conv, int64_t oc) {
  const int64_t products = conv.weight.row_size();
  const int32_t zero = conv.weight.zero_point(oc);
  for (int64_t k = 0; k < products; ++k) {
    const int32_t w = conv.weight.codes[static_cast<size_t>(oc * products + k)] - zero;
    if (w < -128 || w > 127) return false;
  }
  return true;
}

// 8-bit unsigned weights whose zero points lie anywhere in [10, 245] (per channel or per tensor), with each
// channel's codes drawn either within 40 of its zero point (it fits: weight offset 0, as in trained BN
// layers, whose codes span far less than the grid) or over all of [0, 255] (with such zero points it
// seldom fits: offset m - Z2 != 0 and S needed). Per case every channel, no channel, or about half of them
// fit, so groups without S, with S for every channel and mixed ones all occur. The conv and the conv with
// its fused 2x2 pool, in both modes, against the reference on every ISA.
TEST(ConvDotPath, ChannelsPackedAroundTheirZeroPointInEveryInstructionSet) {
  std::mt19937 rng(36);
  const MaxPool2d pool{testing::window(2, 2)};
  std::uniform_int_distribution<int32_t> zero_of(10, 245), near(-40, 40), any(0, 255);
  Scratch scratch;
  int cases = 0, all_fit = 0, none_fit = 0, mixed = 0, varied = 0;
  for (int i = 0; i < 90; ++i) {
    ConvCase c = random_dot_conv(rng, 12, 18, i % 3 == 0 ? 2 : 1);
    if (c.output_shape[1] < 2 || c.output_shape[2] < 2) continue;
    QuantizedWeights& w = c.conv.weight;
    w.bits = 8;
    w.is_signed = false;
    for (int32_t& zero : w.zero_points)
      zero = zero_of(rng);
    const int policy = i % 3;  // 0: every channel narrow, 1: none, 2: each with probability 1/2
    const int64_t products = w.row_size();
    for (int64_t oc = 0; oc < c.conv.out_channels; ++oc) {
      const bool narrow = policy == 0 || (policy == 2 && rng() % 2 == 0);
      for (int64_t k = 0; k < products; ++k) {
        const int32_t code = narrow ? std::clamp(w.zero_point(oc) + near(rng), 0, 255) : any(rng);
        w.codes[static_cast<size_t>(oc * products + k)] = static_cast<int16_t>(code);
      }
    }
    int fitting = 0;
    for (int64_t oc = 0; oc < c.conv.out_channels; ++oc)
      fitting += codes_fit_around_zero_point(c.conv, oc) ? 1 : 0;
    all_fit += fitting == c.conv.out_channels ? 1 : 0;
    none_fit += fitting == 0 ? 1 : 0;
    mixed += fitting > 0 && fitting < c.conv.out_channels ? 1 : 0;
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      const std::vector<int32_t> conv_out = expect_every_isa_exact(c, mode, scratch);
      varied += testing::distinct_values(conv_out) > 1 ? 1 : 0;
      std::vector<int32_t> expected(
          static_cast<size_t>(checked_numel(pool.output_shape(c.output_shape), "")));
      max_pool2d_reference(pool, c.output_shape, conv_out, expected);
      for (const int8::Isa isa : int8::available_isas()) {
        std::vector<int32_t> actual(expected.size(), -12345);
        conv2d_dot_pooled(c.conv, pool, c.input_shape, c.input, actual, mode, scratch, isa);
        ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", pooled, " << fitting << " of "
                                    << c.conv.out_channels << " channels around their zero point";
      }
    }
    if (HasFailure()) return;
    ++cases;
  }
  std::cout << "[ coverage ] " << cases << " convs: " << all_fit
            << " with every channel around its zero point, " << none_fit << " with none, " << mixed
            << " mixed; " << varied << " outputs not constant\n";
  EXPECT_GT(all_fit, 15);
  EXPECT_GT(none_fit, 15);
  EXPECT_GT(mixed, 15);
  EXPECT_GT(varied, cases);
}

// A strided conv followed by a 2x2 pool fuses as a stride-1 conv does: the accumulators of a phase
// decomposition lie on the same kind of gappy grid.
TEST(ConvDotPath, StridedConvFusedPoolEqualsConvThenPool) {
  std::mt19937 rng(31);
  const MaxPool2d pool{testing::window(2, 2)};
  Scratch scratch;
  int tested = 0, strided = 0;
  for (int i = 0; i < 300 && tested < 60; ++i) {
    const ConvCase c = random_dot_conv(rng, 10, i % 4 == 0 ? 70 : 24, 2);
    if (c.output_shape[1] < 2 || c.output_shape[2] < 2) continue;
    for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
      std::vector<int32_t> conv_out(static_cast<size_t>(checked_numel(c.output_shape, "test")));
      conv2d_reference(c.conv, c.input_shape, c.input, conv_out, mode);
      const Dims pooled_shape = pool.output_shape(c.output_shape);
      std::vector<int32_t> expected(static_cast<size_t>(checked_numel(pooled_shape, "test")));
      max_pool2d_reference(pool, c.output_shape, conv_out, expected);
      for (const int8::Isa isa : int8::available_isas()) {
        std::vector<int32_t> actual(expected.size(), -12345);
        conv2d_dot_pooled(c.conv, pool, c.input_shape, c.input, actual, mode, scratch, isa);
        ASSERT_EQ(actual, expected) << int8::isa_name(isa) << ", input " << dims_to_string(c.input_shape)
                                    << ", " << c.conv.window.describe();
      }
    }
    ++tested;
    strided += c.conv.window.stride != std::array<int64_t, 2>{1, 1} ? 1 : 0;
  }
  EXPECT_EQ(tested, 60);
  EXPECT_GT(strided, 30);
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

// A net that downsamples by strided convs: a stride-2 conv, a depthwise stride-2 conv followed by a 2x2 pool
// (run() fuses them), a stride-2 1x1 conv, then a linear layer.
Model strided_like(std::mt19937& rng, const LayerBits& b) {
  Model model;
  model.input.shape = {1, 23, 23};
  model.input.quant = testing::random_quant(rng, 8, false);
  model.input.mean = {0.1307};
  model.input.stddev = {0.3081};
  LayerBits relu = b;
  relu.fused_relu = true;
  model.add(testing::random_conv(rng, model.input.quant, 1, 8, 1, testing::window(3, 2, 1), relu));
  model.add(testing::random_conv(rng, model.output.quant, 8, 8, 8, testing::window(3, 2, 1), relu));
  model.add(MaxPool2d{testing::window(2, 2)});
  model.add(testing::random_conv(rng, model.output.quant, 8, 16, 1, testing::window(1, 2), relu));
  model.add(Flatten{});
  model.add(testing::random_linear(rng, model.output.quant, plan_model(model).output().shape[0], 10, b));
  return model;
}

TEST(RunFastKernels, StridedModelsEqualTheReferenceOnAnyThreadCount) {
  std::mt19937 rng(32);
  for (int i = 0; i < 6; ++i) {
    LayerBits b;
    b.weight_bits = 2 + i % 7;
    b.per_channel = i % 2 == 0;
    const Model model = strided_like(rng, b);
    const IntTensor input = testing::random_input(rng, model, 9);
    const IntTensor expected = run(model, input, {.kernels = KernelChoice::Reference});
    for (const int threads : {1, 2}) {
      const IntTensor actual = run(model, input, {.threads = threads});
      ASSERT_EQ(actual.data, expected.data) << "model " << i << ", " << threads << " threads";
    }
  }
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
    ConvCase c = random_dot_conv(rng, 8);
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
