// describe_model (runtime/describe.h): every number it reports equals the model file's header (the same
// model encoded by encode_model), the weight code ranges and accumulator bounds equal ones computed here from
// the codes, a fused ReLU shows as the clamp at Z_out, and the text is deterministic and carries the numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "error_text.h"
#include "random_models.h"
#include "runtime/describe.h"
#include "runtime/model_json.h"

namespace qg::runtime {
namespace {

using testing::contains;
using testing::LayerBits;

// The header's numbers of op i's weights and output stage against the description of the same op.
void expect_layer_matches_header(const LayerDescription& layer, const nlohmann::json& op) {
  const nlohmann::json& weight = op["weight"];
  const nlohmann::json& stage = op["output_stage"];
  EXPECT_EQ(layer.input.scale, op["input_quant"]["scale"].get<double>());
  EXPECT_EQ(layer.input.zero_point, op["input_quant"]["zero_point"].get<int>());
  EXPECT_EQ(layer.output.scale, stage["output_quant"]["scale"].get<double>());
  EXPECT_EQ(layer.output.zero_point, stage["output_quant"]["zero_point"].get<int>());
  EXPECT_EQ(layer.weight_bits, weight["bits"].get<int>());
  EXPECT_EQ(layer.clamp_min, stage["clamp"][0].get<int>());
  EXPECT_EQ(layer.clamp_max, stage["clamp"][1].get<int>());
  const size_t scales = weight["scales"].size(), multipliers = stage["multipliers"].size();
  EXPECT_EQ(layer.per_channel, scales > 1 || multipliers > 1);
  for (size_t c = 0; c < layer.channels.size(); ++c) {
    const ChannelDescription& ch = layer.channels[c];
    const size_t w = scales > 1 ? c : 0, m = multipliers > 1 ? c : 0;
    EXPECT_EQ(ch.weight_scale, weight["scales"][w].get<double>()) << "channel " << c;
    EXPECT_EQ(ch.weight_zero_point, weight["zero_points"][w].get<int>()) << "channel " << c;
    EXPECT_EQ(ch.multiplier.real, stage["real_multipliers"][m].get<double>()) << "channel " << c;
    EXPECT_EQ(ch.multiplier.fixed.multiplier, stage["multipliers"][m][0].get<int32_t>()) << "channel " << c;
    EXPECT_EQ(ch.multiplier.fixed.shift, stage["multipliers"][m][1].get<int>()) << "channel " << c;
  }
}

// Code ranges and |acc| bounds computed here, from the codes, the bias and the input range.
template <class Layer>
void expect_codes_and_bounds(const LayerDescription& layer, const Layer& op) {
  const int64_t row = op.weight.row_size();
  const int64_t a = std::max(op.input_quant.qmax() - op.input_quant.zero_point,
                             op.input_quant.zero_point - op.input_quant.qmin());
  EXPECT_EQ(layer.input_offset, a);
  EXPECT_EQ(layer.products, row);
  int64_t largest = 0;
  for (int64_t c = 0; c < op.weight.out_channels(); ++c) {
    const auto begin = op.weight.codes.begin() + c * row;
    int64_t bound = op.bias.empty() ? 0 : std::abs(int64_t{op.bias[static_cast<size_t>(c)]});
    for (auto q = begin; q != begin + row; ++q)
      bound += a * std::abs(*q - op.weight.zero_point(c));
    const ChannelDescription& ch = layer.channels[static_cast<size_t>(c)];
    EXPECT_EQ(ch.code_min, *std::min_element(begin, begin + row)) << "channel " << c;
    EXPECT_EQ(ch.code_max, *std::max_element(begin, begin + row)) << "channel " << c;
    EXPECT_EQ(ch.bound.accumulator, bound) << "channel " << c;
    largest = std::max(largest, bound);
  }
  EXPECT_EQ(layer.bound.accumulator, largest);
  EXPECT_TRUE(layer.fits_int32());
}

void expect_description_matches(const Model& model) {
  const std::vector<NodeDescription> nodes = describe_model(model);
  const nlohmann::json header = encode_model(model).header;
  const ModelPlan plan = plan_model(model);
  ASSERT_EQ(nodes.size(), model.ops.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    SCOPED_TRACE("op " + std::to_string(i) + " " + nodes[i].op);
    EXPECT_EQ(nodes[i].op, header["ops"][i]["type"].get<std::string>());
    EXPECT_EQ(nodes[i].inputs, model.inputs_of(i));
    EXPECT_EQ(nodes[i].output.shape, plan.activations[i + 1].shape);
    EXPECT_EQ(nodes[i].output.quant, plan.activations[i + 1].quant);
    if (const auto* conv = std::get_if<Conv2d>(&model.ops[i])) {
      ASSERT_TRUE(nodes[i].layer);
      expect_layer_matches_header(*nodes[i].layer, header["ops"][i]);
      expect_codes_and_bounds(*nodes[i].layer, *conv);
    } else if (const auto* linear = std::get_if<Linear>(&model.ops[i])) {
      ASSERT_TRUE(nodes[i].layer);
      expect_layer_matches_header(*nodes[i].layer, header["ops"][i]);
      expect_codes_and_bounds(*nodes[i].layer, *linear);
    } else if (const auto* mul_add = std::get_if<MulAdd>(&model.ops[i])) {
      ASSERT_TRUE(nodes[i].layer);
      expect_layer_matches_header(*nodes[i].layer, header["ops"][i]);
      expect_codes_and_bounds(*nodes[i].layer, *mul_add);
    } else if (const auto* add = std::get_if<Add>(&model.ops[i])) {
      ASSERT_EQ(nodes[i].multipliers.size(), 3u);
      EXPECT_EQ(nodes[i].multipliers[0].fixed, add->params.input_multipliers[0]);
      EXPECT_EQ(nodes[i].multipliers[1].fixed, add->params.input_multipliers[1]);
      EXPECT_EQ(nodes[i].multipliers[2].fixed, add->params.output_multiplier);
      for (const DescribedMultiplier& m : nodes[i].multipliers)  // the real M gives the stored fixed form
        EXPECT_EQ(quantize_multiplier(m.real), m.fixed) << m.name;
      EXPECT_EQ(nodes[i].clamp->first, header["ops"][i]["clamp"][0].get<int>());
      EXPECT_EQ(nodes[i].clamp->second, header["ops"][i]["clamp"][1].get<int>());
    } else if (const auto* concat = std::get_if<Concat>(&model.ops[i])) {
      ASSERT_EQ(nodes[i].multipliers.size(), concat->params.size());
      for (size_t k = 0; k < concat->params.size(); ++k) {
        EXPECT_EQ(nodes[i].multipliers[k].fixed, concat->params[k].multiplier);
        EXPECT_EQ(quantize_multiplier(nodes[i].multipliers[k].real), nodes[i].multipliers[k].fixed);
      }
    } else if (std::get_if<Clip>(&model.ops[i])) {
      EXPECT_EQ(nodes[i].clamp->first, header["ops"][i]["clamp"][0].get<int>());
      EXPECT_EQ(nodes[i].clamp->second, header["ops"][i]["clamp"][1].get<int>());
    }
  }
}

TEST(Describe, ChainNumbersEqualTheModelFile) {
  std::mt19937 rng(1401);
  for (const bool per_channel : {false, true}) {
    for (const int bits : {2, 4, 8}) {
      SCOPED_TRACE("per channel " + std::to_string(per_channel) + ", " + std::to_string(bits) + " bits");
      const Model model = testing::small_cnn(rng, {.weight_bits = bits, .per_channel = per_channel});
      expect_description_matches(model);
    }
  }
}

TEST(Describe, GraphNumbersEqualTheModelFile) {
  std::mt19937 rng(1402);
  for (int trial = 0; trial < 12; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_description_matches(testing::random_graph(rng, 2 + trial % 7, 4 + trial % 6));
  }
}

TEST(Describe, FusedReluIsTheClampAtTheOutputZeroPoint) {
  std::mt19937 rng(1403);
  const Model model = testing::small_cnn(rng, {});  // op 0 is a conv with a fused ReLU, op 2 has none
  const std::vector<NodeDescription> nodes = describe_model(model);
  const LayerDescription& fused = *nodes[0].layer;
  EXPECT_TRUE(fused.fused_relu());
  EXPECT_EQ(fused.clamp_min, fused.output.zero_point);
  const LayerDescription& plain = *nodes[2].layer;
  ASSERT_NE(plain.output.zero_point, plain.output.qmin());  // else the range itself would be a ReLU
  EXPECT_FALSE(plain.fused_relu());
  EXPECT_EQ(plain.clamp_min, plain.output.qmin());
  const std::string text = describe_text(model, nodes);
  EXPECT_TRUE(contains(text, "clamp [" + std::to_string(fused.output.zero_point) + ", " +
                                 std::to_string(fused.clamp_max) + "]   (fused ReLU: clamp_min = Z_out)"));
}

TEST(Describe, TextCarriesTheNumbersAndIsDeterministic) {
  std::mt19937 rng(1404);
  const Model model = testing::small_cnn(rng, {.per_channel = false});
  const std::vector<NodeDescription> nodes = describe_model(model);
  const std::string text = describe_text(model, nodes);
  EXPECT_EQ(text, describe_text(model, describe_model(model)));
  for (const NodeDescription& node : nodes) {
    EXPECT_TRUE(contains(text, "op " + std::to_string(node.index) + "  " + node.op));
    if (!node.layer) continue;
    const QuantizedMultiplier m = node.layer->channels[0].multiplier.fixed;
    EXPECT_TRUE(
        contains(text, "M0 = " + std::to_string(m.multiplier) + ", shift = " + std::to_string(m.shift)));
    EXPECT_TRUE(contains(text, "|acc| <= " + std::to_string(node.layer->bound.accumulator)));
    EXPECT_TRUE(contains(text, "codes used [" + std::to_string(node.layer->code_min()) + ", " +
                                   std::to_string(node.layer->code_max()) + "]"));
  }
  const nlohmann::json json = describe_json(model, nodes);
  ASSERT_EQ(json["ops"].size(), nodes.size());
  EXPECT_EQ(json["ops"][0]["layer"]["channels"][0]["multiplier"]["M0"].get<int32_t>(),
            nodes[0].layer->channels[0].multiplier.fixed.multiplier);
  EXPECT_EQ(json["ops"][0]["layer"]["fused_relu"].get<bool>(), true);
}

TEST(Describe, PerChannelTextListsEveryChannel) {
  std::mt19937 rng(1405);
  const Model model = testing::small_cnn(rng, {.per_channel = true});
  const std::vector<NodeDescription> nodes = describe_model(model);
  const std::string text = describe_text(model, nodes);
  EXPECT_TRUE(contains(text, "per channel (4)"));
  for (const ChannelDescription& c : nodes[0].layer->channels)
    EXPECT_TRUE(contains(text, std::to_string(c.multiplier.fixed.multiplier)));
}

}  // namespace
}  // namespace qg::runtime
