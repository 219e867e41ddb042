// explain_element (runtime/explain.h): the derived code equals run()'s for elements of every op of chains
// (per tensor and per channel, a fused-ReLU conv) and of random graphs (add, concat, clip, mul_add), in both
// requantization modes; a hand-computed linear layer gives the exact intermediate integers, including the
// case where gemmlowp's two roundings differ from the runtime's one; a fused ReLU's clamp shows; the element
// syntax and its errors.
#include <gtest/gtest.h>

#include <random>

#include "error_text.h"
#include "random_models.h"
#include "runtime/explain.h"
#include "runtime/run.h"

namespace qg::runtime {
namespace {

using testing::contains;
using testing::error_of;

IntTensor one_sample(std::mt19937& rng, const Model& model) {
  return testing::random_input(rng, model, 1);
}

const ExplainStep& step(const Explanation& e, const std::string& what) {
  for (const ExplainStep& s : e.steps) {
    if (s.what.rfind(what, 0) == 0) return s;
  }
  throw std::runtime_error("no step starting \"" + what + "\" in\n" + explanation_text(e));
}

// Elements 0, the last, and `extra` random ones of every op's output.
void expect_every_op_explained(std::mt19937& rng, const Model& model, RequantMode mode, int extra) {
  const ModelPlan plan = plan_model(model);
  const IntTensor input = one_sample(rng, model);
  for (size_t op = 0; op < model.ops.size(); ++op) {
    const int64_t numel = checked_numel(plan.activations[op + 1].shape, "test");
    std::vector<int64_t> elements{0, numel - 1};
    for (int k = 0; k < extra; ++k)
      elements.push_back(std::uniform_int_distribution<int64_t>(0, numel - 1)(rng));
    const IntTensor runtime = value_codes(model, input, static_cast<int64_t>(op) + 1, mode);
    for (const int64_t flat : elements) {
      const Explanation e = explain_element(model, input, {op, flat}, mode);
      ASSERT_TRUE(e.matches()) << explanation_text(e);
      EXPECT_EQ(e.derived, runtime.data[static_cast<size_t>(flat)]);
      EXPECT_EQ(e.op, op_name(model.ops[op]));
    }
  }
}

TEST(Explain, EveryOpOfAChainMatchesTheRuntime) {
  std::mt19937 rng(1501);
  for (const bool per_channel : {false, true}) {
    for (const int bits : {2, 8}) {
      SCOPED_TRACE("per channel " + std::to_string(per_channel) + ", " + std::to_string(bits) + " bits");
      const Model model = testing::small_cnn(rng, {.weight_bits = bits, .per_channel = per_channel});
      expect_every_op_explained(rng, model, RequantMode::Integer, 6);
      expect_every_op_explained(rng, model, RequantMode::FloatReference, 2);
    }
  }
}

TEST(Explain, EveryOpOfAGraphMatchesTheRuntime) {
  std::mt19937 rng(1502);
  std::set<std::string> seen;
  for (int trial = 0; trial < 10; ++trial) {
    const Model model = testing::random_graph(rng, 2 + trial % 7, 4 + trial % 6);
    for (const Node& node : model.ops)
      seen.insert(op_name(node));
    expect_every_op_explained(rng, model, RequantMode::Integer, 4);
  }
  for (const char* op : {"conv2d", "linear", "add", "concat"})  // the graphs did reach the joins
    EXPECT_TRUE(seen.count(op)) << op;
}

// A fused ReLU: an element whose requantized value falls below Z_out is clamped to Z_out, and the step says so.
TEST(Explain, FusedReluClampsAtTheOutputZeroPoint) {
  std::mt19937 rng(1503);
  const Model model = testing::small_cnn(rng, {.per_channel = true});  // op 0: conv with a fused ReLU
  const int32_t zero = std::get<Conv2d>(model.ops[0]).output_stage.output.zero_point;
  const IntTensor input = one_sample(rng, model);
  const IntTensor out = value_codes(model, input, 1, RequantMode::Integer);
  int clamped = 0;
  for (int64_t flat = 0; flat < out.numel() && clamped < 3; ++flat) {
    const Explanation e = explain_element(model, input, {0, flat});
    ASSERT_TRUE(e.matches()) << explanation_text(e);
    if (step(e, "r + Z_out").value.get<int64_t>() >= zero) continue;
    ++clamped;
    EXPECT_EQ(e.derived, zero);
    EXPECT_TRUE(contains(explanation_text(e), "a ReLU (clamp_min = Z_out)"));
    EXPECT_EQ(e.real, 0.0);
  }
  EXPECT_EQ(clamped, 3) << "no element of the fused-ReLU conv was clamped";
}

// docs/runtime.md's example: M = 0.25 (M0 = 2^30, shift -1) and acc = 5. The runtime rounds 1.25 once to 1;
// gemmlowp rounds 2.5 to 3, then 1.5 to 2.
Model quarter_linear() {
  Model model;
  model.input.shape = {1};
  model.input.quant = {.scale = 1.0, .zero_point = 0, .bits = 8, .is_signed = false};
  model.input.mean = {0.0};
  model.input.stddev = {1.0};
  Linear linear;
  linear.in_features = 1;
  linear.out_features = 1;
  linear.input_quant = model.input.quant;
  linear.weight = {
      .shape = {1, 1}, .codes = {3}, .bits = 8, .is_signed = false, .scales = {0.25}, .zero_points = {2}};
  const QuantParams out{.scale = 1.0, .zero_point = 10, .bits = 8, .is_signed = false};
  linear.output_stage = OutputStage::make(1.0, {0.25}, out, false);
  model.add(linear);
  return model;
}

TEST(Explain, HandComputedLinearShowsEachIntermediateInteger) {
  const Model model = quarter_linear();
  const IntTensor input{{1, 1}, {5}};  // q_x = 5, Z_x = 0; q_w = 3, Z_w = 2: acc = 5 * (3 - 2) = 5
  const Explanation e = explain_element(model, input, {0, 0});
  EXPECT_EQ(step(e, "sum q_x*q_w").value.get<int64_t>(), 15);
  EXPECT_EQ(step(e, "- Z_w * sum q_x").value.get<int64_t>(), -10);
  EXPECT_EQ(step(e, "- Z_x * sum q_w").value.get<int64_t>(), 0);
  EXPECT_EQ(step(e, "= sum (q_x - Z_x)(q_w - Z_w)").value.get<int64_t>(), 5);
  EXPECT_EQ(step(e, "acc = bias + sum").value.get<int64_t>(), 5);
  EXPECT_EQ(step(e, "M0 (int32").value.get<std::string>(), std::to_string(1 << 30) + ", shift -1");
  EXPECT_EQ(step(e, "acc * M0").value.get<int64_t>(), int64_t{5} << 30);
  EXPECT_EQ(step(e, "r = round(acc * M0").value.get<int64_t>(), 1);
  EXPECT_EQ(step(e, "  gemmlowp: SaturatingRoundingDoublingHighMul").value.get<int64_t>(), 3);
  EXPECT_EQ(step(e, "  gemmlowp: RoundingDivideByPOT").value.get<int64_t>(), 2);
  EXPECT_TRUE(contains(step(e, "  gemmlowp's two roundings").value.get<std::string>(), "one apart"));
  EXPECT_EQ(step(e, "r + Z_out").value.get<int64_t>(), 11);
  EXPECT_EQ(e.derived, 11);
  EXPECT_TRUE(e.matches());
  EXPECT_DOUBLE_EQ(step(e, "exact real output before rounding").value.get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(e.real, 1.0);
  // The float reference rounds M * acc = 1.25 half to even: also 1.
  const Explanation f = explain_element(model, input, {0, 0}, RequantMode::FloatReference);
  EXPECT_EQ(step(f, "r = round(M * acc) in double").value.get<int64_t>(), 1);
  EXPECT_TRUE(f.matches());
}

TEST(Explain, TextAndJsonCarryTheCheck) {
  const Model model = quarter_linear();
  Explanation e = explain_element(model, IntTensor{{1, 1}, {5}}, {0, 0});
  EXPECT_TRUE(contains(explanation_text(e), "derived code 11, runtime code 11: equal"));
  EXPECT_EQ(explanation_json(e)["matches"], true);
  e.runtime = 12;  // what a disagreeing runtime would look like
  EXPECT_TRUE(contains(explanation_text(e), "derived code 11, runtime code 12: DIFFERENT"));
  EXPECT_EQ(explanation_json(e)["matches"], false);
}

TEST(Explain, ElementSyntax) {
  std::mt19937 rng(1504);
  const Model model = testing::small_cnn(rng, {});  // op 0 output [4,9,9]; op 6 (linear) output [5]
  const ModelPlan plan = plan_model(model);
  const ElementIndex a = parse_element_index("0:3,2,7", model);
  EXPECT_EQ(a.op, 0u);
  EXPECT_EQ(a.flat, 3 * 81 + 2 * 9 + 7);
  EXPECT_EQ(element_coordinates(a, plan.activations[1].shape), "[3,2,7]");
  EXPECT_EQ(parse_element_index("6:4", model).flat, 4);
  EXPECT_EQ(parse_element_index("0:#100", model).flat, 100);
  EXPECT_TRUE(contains(error_of([&] { parse_element_index("0:4,0,0", model); }),
                       "channel 4 is outside [0, 4) of op 0 (conv2d) output [4,9,9]"));
  EXPECT_TRUE(contains(error_of([&] { parse_element_index("7:0", model); }),
                       "layer 7 does not exist (the model has ops 0..6)"));
  EXPECT_TRUE(contains(error_of([&] { parse_element_index("0:1,2", model); }),
                       "has 3 dimensions, but 2 coordinates were given"));
  EXPECT_TRUE(contains(error_of([&] { parse_element_index("0:#324", model); }), "flat index 324 is outside"));
  EXPECT_TRUE(
      contains(error_of([&] { parse_element_index("conv:1", model); }), "\"conv\" is not a non-negative"));
  EXPECT_TRUE(contains(error_of([&] { parse_element_index("0", model); }), "a colon after the layer"));
  EXPECT_TRUE(
      contains(error_of([&] { parse_element_index("0:1,,2", model); }), "\"\" is not a non-negative"));
}

TEST(Explain, RefusesABatch) {
  std::mt19937 rng(1505);
  const Model model = testing::small_cnn(rng, {});
  EXPECT_TRUE(contains(error_of([&] {
                         explain_element(model, testing::random_input(rng, model, 2), {0, 0});
                       }),
                       "expects one sample, found a batch of 2"));
}

}  // namespace
}  // namespace qg::runtime
