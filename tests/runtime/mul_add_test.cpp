// mul_add, the per-channel affine op a lone BatchNorm becomes (issue 10, item 7): a hand-computed case, the
// reference kernel against an independent naive computation on random ops (negative factors included), its
// validation, and its model-file form (format version 2, a model without it still version 1).
#include "runtime/ops/mul_add.h"

#include <gtest/gtest.h>

#include <random>

#include "error_text.h"
#include "random_models.h"
#include "runtime/model_file.h"
#include "runtime/model_json.h"
#include "runtime/run.h"
#include "util/checksum.h"

namespace qg::runtime {
namespace {

using testing::contains;
using testing::error_of;

// round(acc * M0 / 2^(31 - shift)), half away from zero, from the exact quotient and remainder of a 128-bit
// division: written without multiply_by_quantized_multiplier's nudge-and-truncate, to check it.
int64_t fixed_point_naive(int64_t acc, QuantizedMultiplier m) {
  const __int128 product = static_cast<__int128>(acc) * m.multiplier;
  const __int128 divisor = static_cast<__int128>(1) << (31 - m.shift);
  const __int128 magnitude = product < 0 ? -product : product;
  __int128 quotient = magnitude / divisor;
  if (2 * (magnitude % divisor) >= divisor) ++quotient;  // a tie goes away from zero
  const int64_t r = static_cast<int64_t>(product < 0 ? -quotient : quotient);
  return std::clamp<int64_t>(r, -2147483647, 2147483647);
}

// The op by its definition (runtime/ops/mul_add.h), in 64-bit integers.
std::vector<int32_t> naive_mul_add(const MulAdd& op, const Dims& shape, const std::vector<int32_t>& input) {
  std::vector<int32_t> out(input.size());
  const int64_t plane = shape[1] * shape[2];
  for (size_t i = 0; i < input.size(); ++i) {
    const int64_t c = static_cast<int64_t>(i) / plane;
    const size_t w = op.weight.per_channel() ? static_cast<size_t>(c) : 0;
    const int64_t factor = int64_t{op.weight.codes[static_cast<size_t>(c)]} - op.weight.zero_points[w];
    const int64_t acc = (op.bias.empty() ? 0 : op.bias[static_cast<size_t>(c)]) +
                        factor * (int64_t{input[i]} - op.input_quant.zero_point);
    const size_t m = op.output_stage.per_channel() ? static_cast<size_t>(c) : 0;
    const int64_t code =
        op.output_stage.output.zero_point + fixed_point_naive(acc, op.output_stage.multipliers[m]);
    out[i] =
        static_cast<int32_t>(std::clamp<int64_t>(code, op.output_stage.clamp_min, op.output_stage.clamp_max));
  }
  return out;
}

TEST(MulAdd, HandComputedCaseWithANegativeFactor) {
  // Input S1 = 0.5, Z1 = 10. Channel 0: a = 2, b = 1; channel 1: a = -0.5, b = 0. Output S3 = 0.25, Z3 = 100.
  MulAdd op;
  op.channels = 2;
  op.input_quant = {0.5, 10, 8, false};
  const std::vector<double> scales{2.0 / 127, 0.5 / 127};  // S2[c] = |a[c]| / 127
  op.weight = {{2}, {127, -127}, 8, true, scales, {0, 0}};
  op.bias = {127, 0};  // round(b / (S1 S2)) = round(1 / (1 / 127)) = 127
  op.output_stage = OutputStage::make(0.5, scales, {0.25, 100, 8, false}, false);
  const Dims shape{2, 1, 2};
  // x = 0.5 (q - 10): channel 0 at q = 14, 10 -> x = 2, 0 -> y = 5, 1 -> codes 120, 104;
  // channel 1 at q = 6, 30 -> x = -2, 10 -> y = 1, -5 -> codes 104, 80.
  const std::vector<int32_t> input{14, 10, 6, 30};
  std::vector<int32_t> output(4);
  mul_add_reference(op, shape, input, output, RequantMode::Integer);
  EXPECT_EQ(output, (std::vector<int32_t>{120, 104, 104, 80}));
  mul_add_reference(op, shape, input, output, RequantMode::FloatReference);
  EXPECT_EQ(output, (std::vector<int32_t>{120, 104, 104, 80}));
  op.output_stage = OutputStage::make(0.5, scales, {0.25, 100, 8, false}, /*fused_relu=*/true);
  mul_add_reference(op, shape, input, output, RequantMode::Integer);
  EXPECT_EQ(output, (std::vector<int32_t>{120, 104, 104, 100})) << "y = -5 clamps at Z3: a fused ReLU";
}

TEST(MulAdd, ReferenceEqualsTheNaiveDefinitionOnRandomOps) {
  std::mt19937 rng(71);
  int64_t negative = 0, zero = 0, clamped = 0, total = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int bits = std::uniform_int_distribution<int>(2, 8)(rng);
    const bool is_signed = rng() % 2 == 0;
    MulAdd op;
    op.channels = std::uniform_int_distribution<int64_t>(1, 6)(rng);
    op.input_quant = testing::random_activation_quant(rng, bits, is_signed);
    const bool per_channel = rng() % 4 != 0;
    op.weight.shape = {op.channels};
    op.weight.bits = 8;
    op.weight.is_signed = true;
    std::uniform_int_distribution<int> code(-127, 127);
    for (int64_t c = 0; c < op.channels; ++c) {
      const int16_t q = static_cast<int16_t>(trial % 7 == 0 && c == 0 ? 0 : code(rng));  // some zero factors
      op.weight.codes.push_back(q);
      negative += q < 0;
      zero += q == 0;
    }
    const double base = std::exp(std::uniform_real_distribution<double>(-9.0, 1.0)(rng));
    for (int64_t c = 0; c < (per_channel ? op.channels : 1); ++c) {
      op.weight.scales.push_back(base * std::exp(std::uniform_real_distribution<double>(-0.5, 0.5)(rng)));
      op.weight.zero_points.push_back(0);
    }
    if (rng() % 5 != 0) op.bias = testing::random_bias(rng, op.channels, 16000);
    QuantParams out =
        testing::random_activation_quant(rng, std::uniform_int_distribution<int>(2, 8)(rng), rng() % 2);
    // An output grid over about the accumulator's range, 127 * 255 units either side: codes spread over the
    // range, and some clamp.
    const double range = op.input_quant.scale * base * 127.0 * 255.0 * 2.0;
    out.scale =
        range * std::exp(std::uniform_real_distribution<double>(-0.5, 1.0)(rng)) / (out.qmax() - out.qmin());
    op.output_stage = OutputStage::make(op.input_quant.scale, op.weight.scales, out, rng() % 3 == 0);
    ASSERT_NO_THROW(op.output_quant(op.input_quant));

    const Dims shape{op.channels, std::uniform_int_distribution<int64_t>(1, 5)(rng), 3};
    const std::vector<int32_t> input =
        testing::random_codes(rng, checked_numel(shape, "test"), op.input_quant);
    std::vector<int32_t> output(input.size());
    mul_add_reference(op, shape, input, output, RequantMode::Integer);
    const std::vector<int32_t> expected = naive_mul_add(op, shape, input);
    ASSERT_EQ(output, expected) << "trial " << trial;
    for (const int32_t q : output)
      clamped += q == op.output_stage.clamp_min || q == op.output_stage.clamp_max;
    total += static_cast<int64_t>(output.size());

    // Through a model and run(): op_output/op_forward dispatch to it.
    Model model;
    model.input = {shape, op.input_quant, {0.0}, {1.0}};
    model.add(op);
    IntTensor batch{{1, shape[0], shape[1], shape[2]}, input};
    ASSERT_EQ(run(model, batch).data, expected) << "trial " << trial;
  }
  EXPECT_GT(negative, 100) << "negative factors must be exercised";
  EXPECT_GT(zero, 10);
  EXPECT_GT(clamped, 0);
  EXPECT_LT(clamped, total / 2) << "most outputs must lie inside the code range, or the test checks little";
}

TEST(MulAdd, RefusesAnInconsistentOp) {
  MulAdd op;
  op.channels = 2;
  op.input_quant = {0.5, 10, 8, false};
  op.weight = {{2}, {127, -127}, 8, true, {0.01, 0.02}, {0, 0}};
  op.bias = {5, -5};
  op.output_stage = OutputStage::make(0.5, op.weight.scales, {0.25, 100, 8, false}, false);
  ASSERT_NO_THROW(op.output_quant(op.input_quant));
  EXPECT_TRUE(contains(error_of([&] {
                         op.output_shape({3, 4, 4});
                       }),
                       "input has 3 channels but the op expects 2"));
  EXPECT_TRUE(contains(error_of([&] { op.output_shape({2, 16}); }), "expects a [C,H,W] input"));
  EXPECT_TRUE(contains(error_of([&] {
                         op.output_quant({0.5, 11, 8, false});
                       }),
                       "the incoming activation has"));
  MulAdd bad = op;
  bad.weight.shape = {2, 1};
  EXPECT_TRUE(contains(error_of([&] { bad.output_quant(bad.input_quant); }), "weight has shape [2,1]"));
  bad = op;
  bad.bias = {1};
  EXPECT_TRUE(
      contains(error_of([&] { bad.output_quant(bad.input_quant); }), "bias has 1 values but expected 2"));
  bad = op;
  bad.bias = {2147483647 - 100, 0};  // + 127 * 245 can overflow int32
  EXPECT_TRUE(
      contains(error_of([&] { bad.output_quant(bad.input_quant); }), "the int32 accumulator could overflow"));
}

Model mul_add_model(std::mt19937& rng) {
  Model model;
  model.input = {{3, 4, 4}, {0.02, 7, 8, false}, {0.1307}, {0.3081}};
  MulAdd op;
  op.channels = 3;
  op.input_quant = model.input.quant;
  op.weight = {{3}, {127, -127, 64}, 8, true, {0.01, 0.003, 0.5}, {0, 0, 0}};
  op.bias = {1000, -20000, 3};
  op.output_stage = OutputStage::make(op.input_quant.scale, op.weight.scales, {0.05, 128, 8, false}, true);
  model.add(op);
  model.add(Flatten{});
  model.add(testing::random_linear(rng, model.output.quant, 48, 10, {}));
  return model;
}

TEST(MulAdd, ModelFileRoundTripIsExactAndVersion2) {
  std::mt19937 rng(72);
  const Model model = mul_add_model(rng);
  const std::vector<uint8_t> bytes = serialize_model(model);
  EXPECT_EQ(bytes[8], 2) << "a model with mul_add is format version 2";
  const Model loaded = deserialize_model(bytes, "m.qgm");
  ASSERT_EQ(loaded.ops.size(), 3u);
  const auto& a = std::get<MulAdd>(model.ops[0]);
  const auto& b = std::get<MulAdd>(loaded.ops[0]);
  EXPECT_EQ(b.channels, a.channels);
  EXPECT_EQ(b.input_quant, a.input_quant);
  EXPECT_EQ(b.weight.shape, a.weight.shape);
  EXPECT_EQ(b.weight.codes, a.weight.codes);
  EXPECT_EQ(b.weight.scales, a.weight.scales);
  EXPECT_EQ(b.weight.zero_points, a.weight.zero_points);
  EXPECT_EQ(b.bias, a.bias);
  EXPECT_EQ(b.output_stage.multipliers, a.output_stage.multipliers);
  EXPECT_EQ(b.output_stage.real_multipliers, a.output_stage.real_multipliers);
  EXPECT_EQ(b.output_stage.clamp_min, a.output_stage.clamp_min);
  EXPECT_EQ(serialize_model(loaded), bytes) << "save(load(f)) == f";
  const IntTensor input = testing::random_input(rng, model, 5);
  EXPECT_EQ(run(loaded, input).data, run(model, input).data);

  const nlohmann::json op = encode_model(model).header["ops"][0];
  EXPECT_EQ(op["type"], "mul_add");
  EXPECT_EQ(op["channels"], 3);
  EXPECT_EQ(op["weight"]["signed"], true);
  EXPECT_EQ(op["output_stage"]["clamp"], nlohmann::json::array({128, 255}));
}

TEST(MulAdd, AModelWithoutItStaysVersion1AndAVersion1FileCannotHoldIt) {
  std::mt19937 rng(73);
  const std::vector<uint8_t> old = serialize_model(testing::small_cnn(rng, {}));
  EXPECT_EQ(old[8], 1) << "older readers (version 1 only) still read every model without mul_add";
  EXPECT_NO_THROW(deserialize_model(old, "old.qgm"));

  std::vector<uint8_t> bytes = serialize_model(mul_add_model(rng));
  bytes[8] = 1;  // claim version 1, and make the checksum right again
  const size_t body = bytes.size() - 4;
  const uint32_t crc = util::crc32(std::span<const uint8_t>(bytes).first(body));
  for (int i = 0; i < 4; ++i)
    bytes[body + i] = static_cast<uint8_t>(crc >> (8 * i));
  EXPECT_EQ(
      error_of([&] { deserialize_model(bytes, "m.qgm"); }),
      "load_model: m.qgm: the model has a mul_add op, which needs format version 2, but offset 8 declares 1");
}

}  // namespace
}  // namespace qg::runtime
