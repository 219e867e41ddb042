// The int32 overflow bound of conv/linear layers from their actual codes (issue 10, items 3 and 4), and the
// bias that must fit int32 before any bound is computed.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "error_text.h"
#include "random_models.h"
#include "runtime/accumulator_bound.h"
#include "runtime/ops/conv2d.h"
#include "runtime/ops/conv2d_dot.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/linear_dot.h"

namespace qg::runtime {
namespace {

using testing::contains;
using testing::error_of;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

QuantizedWeights weights_of(Dims shape, std::vector<int16_t> codes, std::vector<int32_t> zero_points) {
  QuantizedWeights w;
  w.shape = std::move(shape);
  w.codes = std::move(codes);
  w.scales.assign(zero_points.size(), 0.01);
  w.zero_points = std::move(zero_points);
  return w;
}

// Worked by hand. Input: 8-bit unsigned, Z1 = 10, so A = max(255 - 10, 10 - 0) = 245. Two channels of
// three 8-bit codes, per-channel zero points {100, 0}, bias {1000, -7}:
//   channel 0, codes {100, 200, 50}: sum |q - Z| = 150, sum |q| = 350
//   channel 1, codes {255, 0, 3}:    sum |q - Z| = 258, sum |q| = 258
//   the accumulator:          1000 + 245 * 150 = 37750;   7 + 245 * 258 = 63217
//   bias + sum (q1 - Z1) q2:  1000 + 245 * 350 = 86750;   7 + 245 * 258 = 63217
//   Z2 sum (q1 - Z1):         100 * 3 * 245   = 73500;    0
//   sum (q1 - Z1):            3 * 245 = 735
TEST(AccumulatorBound, EveryTermOfEveryChannelFromTheActualCodes) {
  const QuantParams input{0.1, 10, 8, false};
  const QuantizedWeights w = weights_of({2, 3}, {100, 200, 50, 255, 0, 3}, {100, 0});
  const AccumulatorBound b = accumulator_bound(3, input, w, {1000, -7});
  EXPECT_EQ(b.value, 86750);
  EXPECT_EQ(b.channel, 0);
  EXPECT_EQ(b.term, "bias + sum (q1 - Z1) q2");
  EXPECT_EQ(b.accumulator, 63217);
  // Without a bias, and with Z2 large: the zero-point correction is the largest term.
  const QuantizedWeights high_zero = weights_of({1, 3}, {250, 255, 240}, {255});
  const AccumulatorBound c = accumulator_bound(3, input, high_zero, {});
  EXPECT_EQ(c.value, 255 * 3 * 245);  // 187425 > 245 * (255 + 250 + 240) = 182525
  EXPECT_EQ(c.term, "Z2 sum (q1 - Z1)");
  EXPECT_EQ(c.accumulator, 245 * (0 + 5 + 15));
}

// A linear layer at the very edge: A = 255 (Z1 = 0), K = 33025 weights all 255 with Z2 = 0, so every term
// is 255 * 255 * 33025 = 2147450625 plus the bias; a bias of 33022 makes it exactly 2^31 - 1. It is accepted,
// and with every input at 255 the fast kernel (raw dot product in int32, then the correction) reaches that
// accumulator without overflowing: it agrees with the reference, and so does the dot path (linear_dot) in
// every instruction set. One more unit of bias is refused.
Linear edge_linear(int32_t bias, int32_t weight_zero, int16_t weight_code) {
  constexpr int64_t k = 33025;
  Linear op;
  op.in_features = k;
  op.out_features = 1;
  op.input_quant = QuantParams{0.01, 0, 8, false};
  op.weight = weights_of({1, k}, std::vector<int16_t>(k, weight_code), {weight_zero});
  op.bias = {bias};
  const QuantParams out{2000.0, 0, 8, true};  // acc 2^31 - 1 at scale 1e-4 is 214748: code 107
  op.output_stage = OutputStage::make(op.input_quant.scale, op.weight.scales, out, false);
  return op;
}

TEST(AccumulatorBound, ALayerAtTheEdgeIsAcceptedAndItsKernelsAgreeThere) {
  for (const auto& [zero, code, bias] : {std::tuple{0, 255, 33022}, std::tuple{255, 0, -33022}}) {
    const Linear op = edge_linear(bias, zero, static_cast<int16_t>(code));
    EXPECT_EQ(accumulator_bound(op.in_features, op.input_quant, op.weight, op.bias).value, kInt32Max);
    ASSERT_EQ(error_of([&] { op.output_quant(op.input_quant); }), "(no exception)") << zero;
    const std::vector<int32_t> input(static_cast<size_t>(op.in_features), 255);
    std::vector<int32_t> reference(1), fast(1);
    Scratch scratch;
    linear_reference(op, input, reference, RequantMode::Integer);
    linear_fast(op, input, fast, RequantMode::Integer, scratch);
    EXPECT_EQ(reference[0], zero == 0 ? 107 : -107);  // round(+-(2^31 - 1) * 0.01 * 0.01 / 2000)
    EXPECT_EQ(fast, reference) << "zero point " << zero;
    for (const int8::Isa isa : {int8::Isa::Portable, int8::Isa::Avx2, int8::Isa::Avx512Vnni}) {
      if (!int8::isa_available(isa)) continue;
      ASSERT_TRUE(linear_dot_applies(op));  // K = 33025 < 65536
      std::vector<int32_t> dot(1, -12345);
      linear_dot(op, 1, input, dot, RequantMode::Integer, scratch, isa);
      EXPECT_EQ(dot, reference) << "dot path, " << int8::isa_name(isa) << ", zero point " << zero;
    }
    const Linear over = edge_linear(bias > 0 ? bias + 1 : bias - 1, zero, static_cast<int16_t>(code));
    EXPECT_TRUE(contains(error_of([&] { over.output_quant(over.input_quant); }),
                         "accumulator: the int32 accumulator could overflow: in output channel 0, "))
        << zero;
    EXPECT_TRUE(
        contains(error_of([&] { over.output_quant(over.input_quant); }), "can reach 2147483648 > 2^31-1"))
        << zero;
  }
}

// The same edge in a conv (a 5x5 kernel, a 1x1 output): 1321 channels x 25 = 33025 products take the
// dot-product path at any stride; 2642 channels x 25 = 66050 products (beyond its K < 65536) the int16 im2col
// path. Each agrees with the reference at the edge: every product at its largest, the bias making up the
// rest of 2^31 - 1 (255 * 255 * 33025 + 33022, and 255 * 127 * 66050 + 8454397).
TEST(AccumulatorBound, ConvKernelsAgreeAtTheEdge) {
  struct Edge {
    int64_t channels, stride;
    int32_t zero, code, bias;
  };
  for (const Edge& e :
       {Edge{1321, 1, 0, 255, 33022}, Edge{1321, 1, 255, 0, -33022}, Edge{1321, 2, 0, 255, 33022},
        Edge{1321, 2, 255, 0, -33022}, Edge{2642, 1, 0, 127, 8454397}, Edge{2642, 1, 127, 0, -8454397}}) {
    const int64_t products = e.channels * 25;
    Conv2d op;
    op.in_channels = e.channels;
    op.out_channels = 1;
    op.window = testing::window(5, e.stride);
    op.input_quant = QuantParams{0.01, 0, 8, false};
    op.weight = weights_of({1, e.channels, 5, 5},
                           std::vector<int16_t>(static_cast<size_t>(products), static_cast<int16_t>(e.code)),
                           {e.zero});
    op.bias = {e.bias};
    op.output_stage = OutputStage::make(0.01, op.weight.scales, QuantParams{2000.0, 0, 8, true}, false);
    ASSERT_EQ(error_of([&] { op.output_quant(op.input_quant); }), "(no exception)");
    EXPECT_EQ(conv2d_dot_applies(op), products < 65536) << products << " products";
    const std::vector<int32_t> input(static_cast<size_t>(products), 255);
    std::vector<int32_t> reference(1), fast(1);
    Scratch scratch;
    conv2d_reference(op, {e.channels, 5, 5}, input, reference, RequantMode::Integer);
    EXPECT_EQ(reference[0], e.zero == 0 ? 107 : -107);  // 2^31 - 1 at scale 0.01 * 0.01 / 2000
    for (const int8::Isa isa : {int8::Isa::Portable, int8::Isa::Avx2, int8::Isa::Avx512Vnni}) {
      if (!int8::isa_available(isa)) continue;
      conv2d_fast(op, {e.channels, 5, 5}, input, fast, RequantMode::Integer, scratch, isa);
      EXPECT_EQ(fast, reference) << e.channels << " channels, stride " << e.stride << ", zero point "
                                 << e.zero << ", " << int8::isa_name(isa);
    }
  }
}

// The bias is never saturated: a code beyond int32 is an error naming the bias that needs the largest code
// (issue 10, item 3: the refusal used to come later, from the accumulator bound, with a figure computed from
// the clamped bias).
TEST(BiasCodes, ABiasBeyondInt32IsRefusedNamingItAndTheCodeItNeeds) {
  const std::vector<float> bias{0.001f, 10.0f, -3.0f};
  // b / (0.01 * 1e-3)
  EXPECT_EQ(quantize_bias(bias, 0.01, {1e-3}), (std::vector<int32_t>{100, 1000000, -300000}));
  // At 0.01 * 1e-9: 0.001 -> 1e8 fits; 10 -> 1e12 and -3 -> -3e11 do not, 1e12 the largest.
  EXPECT_EQ(
      error_of([&] { quantize_bias(bias, 0.01, {1e-9}); }),
      "quantize_bias: bias 1 = 10 needs the code 1e+12 at the accumulator scale 1e-11 (input scale 0.01 x "
      "weight scale 1e-09), beyond int32 (biases beyond it: 2 of 3): the weights are too small next to the "
      "bias for int32 accumulation");
  // At scale 1: -2^31 and 2^31 - 128 (the largest float below 2^31) fit; 2^31 does not.
  EXPECT_EQ(quantize_bias(std::vector<float>{-2147483648.0f, 2147483520.0f}, 1.0, {1.0}),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::min(), 2147483520}));
  EXPECT_TRUE(contains(error_of([&] { quantize_bias(std::vector<float>{2147483648.0f}, 1.0, {1.0}); }),
                       "needs the code 2.15e+09"));
}

}  // namespace
}  // namespace qg::runtime
