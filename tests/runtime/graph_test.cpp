// Graph models (issue 12): ops that read earlier values, validated by plan_model with messages naming the op
// and the values; run() on random DAGs equal to a naive value-by-value evaluation, with the fast and the
// reference kernels and any thread count; activation buffers assigned by liveness (a chain needs two, a
// residual block three, peak bytes computed by hand); and the model file of a graph (version 3).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <random>
#include <vector>

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
using testing::LayerBits;

// Every value of one sample in its own vector, each op through its reference kernel: no buffer is shared, so
// this checks run()'s buffer reuse.
std::vector<std::vector<int32_t>> evaluate_value_by_value(const Model& model,
                                                          std::span<const int32_t> sample) {
  const ModelPlan plan = plan_model(model);
  std::vector<std::vector<int32_t>> values{std::vector<int32_t>(sample.begin(), sample.end())};
  Scratch scratch;
  for (size_t i = 0; i < model.ops.size(); ++i) {
    std::vector<Activation> inputs;
    std::vector<std::span<const int32_t>> spans;
    for (const int64_t v : model.inputs_of(i)) {
      inputs.push_back(plan.activations[static_cast<size_t>(v)]);
      spans.emplace_back(values[static_cast<size_t>(v)]);
    }
    std::vector<int32_t> out(static_cast<size_t>(checked_numel(plan.activations[i + 1].shape, "test")));
    op_forward(model.ops[i], inputs, spans, out, {.kernels = KernelChoice::Reference, .scratch = scratch});
    values.push_back(std::move(out));
  }
  return values;
}

// The last values of a batch, sample after sample.
std::vector<int32_t> evaluate_naively(const Model& model, const IntTensor& input) {
  std::vector<int32_t> out;
  const auto size = static_cast<size_t>(input.sample_size());
  for (int64_t n = 0; n < input.batch(); ++n) {
    const auto values = evaluate_value_by_value(
        model, std::span<const int32_t>(input.data).subspan(static_cast<size_t>(n) * size, size));
    out.insert(out.end(), values.back().begin(), values.back().end());
  }
  return out;
}

Conv2d conv3x3(std::mt19937& rng, const QuantParams& in, int64_t in_channels, int64_t out_channels) {
  LayerBits b;
  b.fused_relu = true;
  return testing::random_conv(rng, in, in_channels, out_channels, 1, testing::window(3, 1, 1), b);
}

// [2,4,4] -> conv (value 1, [4,4,4]) -> conv (2) -> conv (3) -> add of values 1 and 3 (4) -> flatten (5) ->
// linear(3) (6): a residual block whose skip starts at an intermediate value.
Model residual_block(std::mt19937& rng) {
  Model model;
  model.input = {{2, 4, 4}, {0.02, 128, 8, false}, {0.5}, {0.25}};
  model.add(conv3x3(rng, model.input.quant, 2, 4));
  const int64_t skip = model.last_value();
  const QuantParams skip_quant = model.output.quant;
  model.add(conv3x3(rng, model.output.quant, 4, 4));
  model.add(conv3x3(rng, model.output.quant, 4, 4));
  const QuantParams sum{std::max(skip_quant.scale, model.output.quant.scale) * 1.5, 0, 8, false};
  model.add(Add::make(skip_quant, model.output.quant, sum, sum.zero_point, sum.qmax()),
            {skip, model.last_value()});
  model.add(Flatten{});
  model.add(testing::random_linear(rng, model.output.quant, 64, 3, {}));
  return model;
}

// ---- running -------------------------------------------------------------------------------------

TEST(GraphRun, AResidualBlockRunsAsTheNaiveEvaluation) {
  std::mt19937 rng(131);
  const Model model = residual_block(rng);
  EXPECT_EQ(model.inputs_of(3), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(model.inputs_of(2), (std::vector<int64_t>{2}));
  const IntTensor input = testing::random_input(rng, model, 4);
  const std::vector<int32_t> expected = evaluate_naively(model, input);
  EXPECT_EQ(run(model, input).data, expected);
  EXPECT_EQ(run(model, input, {.kernels = KernelChoice::Reference}).data, expected);
  EXPECT_EQ(run(model, input, {.threads = 3}).data, expected);
  // Not a trivial case: the sum spreads over many codes.
  const auto values = evaluate_value_by_value(model, std::span<const int32_t>(input.data).first(32));
  EXPECT_GT(testing::distinct_values(values[4]), 10u);
}

TEST(GraphRun, RandomGraphsFastAndReferenceKernelsEqualTheNaiveEvaluation) {
  std::mt19937 rng(132);
  int joins = 0, concats = 0, skips = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const Model model = testing::random_graph(rng, 2 + trial % 7, 3 + trial % 8);
    for (size_t i = 0; i < model.ops.size(); ++i) {
      joins += std::holds_alternative<Add>(model.ops[i]);
      concats += std::holds_alternative<Concat>(model.ops[i]);
      skips += model.inputs_of(i)[0] != static_cast<int64_t>(i);
    }
    const IntTensor input = testing::random_input(rng, model, 3);
    const std::vector<int32_t> expected = evaluate_naively(model, input);
    ASSERT_EQ(run(model, input).data, expected) << "trial " << trial;
    ASSERT_EQ(run(model, input, {.kernels = KernelChoice::Reference}).data, expected) << "trial " << trial;
    ASSERT_EQ(run(model, input, {.threads = 2}).data, expected) << "trial " << trial;
  }
  EXPECT_GT(joins, 50);
  EXPECT_GT(concats, 50);
  EXPECT_GT(skips, 100);
}

// A conv and the 2x2 max pool after it run as one fused step only when the pool is the conv output's only
// reader; here a second pool reads it too, so both pools read a written conv output.
TEST(GraphRun, AConvOutputReadTwiceIsNotFusedAway) {
  std::mt19937 rng(133);
  Model model;
  model.input = {{2, 8, 8}, {0.02, 128, 8, false}, {0.5}, {0.25}};
  model.add(conv3x3(rng, model.input.quant, 2, 4));
  const int64_t conv = model.last_value();
  model.add(MaxPool2d{testing::window(2, 2)});
  model.add(MaxPool2d{testing::window(2, 2)}, {conv});
  const QuantParams q = model.output.quant;
  model.add(Add::make(q, q, q, q.qmin(), q.qmax()), {2, 3});
  model.add(Flatten{});
  model.add(testing::random_linear(rng, model.output.quant, 64, 3, {}));
  const IntTensor input = testing::random_input(rng, model, 3);
  EXPECT_EQ(run(model, input).data, evaluate_naively(model, input));
}

// ---- validation ----------------------------------------------------------------------------------

TEST(GraphPlan, ErrorsNameTheOpTheValuesAndTheShapes) {
  std::mt19937 rng(134);
  Model model = residual_block(rng);
  model.ops.resize(3);  // up to value 3, [4,4,4]
  model.output.quant = std::get<Conv2d>(model.ops[2]).output_stage.output;
  const QuantParams q = model.output.quant;
  const Add add = Add::make(q, q, q, q.qmin(), q.qmax());
  EXPECT_EQ(
      error_of([&] {
        model.add(add, {1, 5});
      }),
      "op 3 (add): input 1 is value 5, but op 3 can read only values 0..3 (the model input and the outputs "
      "of the ops before it)");
  EXPECT_EQ(error_of([&] { model.add(ReLU{}, {-1}); }),
            "op 3 (relu): input 0 is value -1, but op 3 can read only values 0..3 (the model input and the "
            "outputs of the ops before it)");
  EXPECT_EQ(error_of([&] { model.add(add); }), "op 3 (add) on input [4,4,4]: takes 2 inputs but reads 1");
  EXPECT_EQ(error_of([&] {
              model.add(ReLU{}, {2, 3});
            }),
            "op 3 (relu) on inputs [4,4,4] and [4,4,4]: takes 1 input but reads 2");
  EXPECT_EQ(
      error_of([&] {
        model.add(add, {0, 3});
      }),
      "op 3 (add) on inputs [2,4,4] and [4,4,4]: input 0 has scale 0.02, zero point 128, 8-bit unsigned "
      "but the op was built for " +
          quant_to_string(q));
  const Add from_input = Add::make(model.input.quant, q, q, q.qmin(), q.qmax());
  EXPECT_EQ(
      error_of([&] {
        model.add(from_input, {0, 3});
      }),
      "op 3 (add) on inputs [2,4,4] and [4,4,4]: the inputs have different shapes [2,4,4] and [4,4,4] (add "
      "does not broadcast)");
  EXPECT_EQ(
      error_of([&] {
        model.add(Concat::make({q, q, q}, q), {1, 2, 3, 3});
      }),
      "op 3 (concat) on inputs [4,4,4], [4,4,4], [4,4,4] and [4,4,4]: the op was built for 3 inputs but "
      "reads 4 values");
  EXPECT_EQ(model.ops.size(), 3u) << "a rejected op is not appended";
  // An op's inputs set directly, not through add(): plan_model checks them the same way.
  Model direct = model;
  direct.ops[1].inputs = {2};
  EXPECT_EQ(error_of([&] { plan_model(direct); }),
            "op 1 (conv2d): input 0 is value 2, but op 1 can read only values 0..1 (the model input and the "
            "outputs of the ops before it)");
  direct.ops[1].inputs = {0};
  EXPECT_TRUE(contains(error_of([&] { plan_model(direct); }),
                       "op 1 (conv2d) on input [2,4,4]: input has 2 channels but the layer expects 4"));
  model.add(add, {3, 3});  // x + x is fine
  model.add(Concat::make({q, q, q}, q), {3, 4, 3});
  EXPECT_EQ(plan_model(model).output().shape, (Dims{12, 4, 4}));
}

TEST(GraphPlan, TheChainApiIsUnchanged) {
  std::mt19937 rng(135);
  Model chain = testing::small_cnn(rng, LayerBits{});
  Model same;
  same.input = chain.input;
  for (size_t i = 0; i < chain.ops.size(); ++i) {
    same.add(chain.ops[i].op(), {same.last_value()});  // the value before it, named
    EXPECT_TRUE(same.ops[i].inputs.empty()) << "stored as a chain op";
    EXPECT_TRUE(chain.ops[i].inputs.empty());
  }
  same.metadata = chain.metadata;
  EXPECT_EQ(serialize_model(same), serialize_model(chain));
  const ModelPlan plan = plan_model(chain);
  for (size_t i = 0; i < chain.ops.size(); ++i)
    EXPECT_EQ(plan.inputs[i], (std::vector<int64_t>{static_cast<int64_t>(i)}));
}

// ---- liveness ------------------------------------------------------------------------------------

TEST(Liveness, AChainNeedsTwoBuffers) {
  std::mt19937 rng(136);
  // small_cnn's values: [2,9,9] 162, conv [4,9,9] 324, pool [4,4,4] 64, conv [4,6,6] 144, relu 144,
  // avg pool [4,4,4] 64, flatten 64, linear 5.
  const ModelPlan plan = plan_model(testing::small_cnn(rng, LayerBits{}));
  // Ping-pong, the best fitting free buffer each time: 324 -> A, 64 -> B, 144 -> A, 144 -> B (grown),
  // 64 -> A, 64 -> B; the output goes to run()'s result.
  EXPECT_EQ(plan.buffers.buffer_of, (std::vector<int>{-1, 0, 1, 0, 1, 0, 1, -1}));
  EXPECT_EQ(plan.buffers.buffer_elements, (std::vector<int64_t>{324, 144}));
  EXPECT_EQ(plan.buffers.bytes(), (324 + 144) * 4);
  // The peak is the first conv: its input and its output, 162 + 324 codes of 4 bytes.
  EXPECT_EQ(plan.peak_activation_bytes(), (162 + 324) * 4);
  EXPECT_EQ(plan.peak_activation_bytes(10), 10 * (162 + 324) * 4);
  // Fused with the pool after it (run()'s fast kernels), the first conv's output needs no buffer.
  std::vector<bool> fused(7, false);
  fused[0] = true;
  const BufferPlan with_fusion = plan_buffers(plan, fused);
  EXPECT_EQ(with_fusion.buffer_of, (std::vector<int>{-1, -1, 0, 1, 0, 1, 0, -1}));
  EXPECT_EQ(with_fusion.buffer_elements, (std::vector<int64_t>{144, 144}));
  // Shorter chains: one op needs no buffer, two need one.
  Model one;
  one.input = {{4}, {0.1, 0, 8, false}, {0.0}, {1.0}};
  one.add(ReLU{});
  EXPECT_EQ(plan_model(one).buffers.buffers(), 0u);
  EXPECT_EQ(plan_model(one).peak_activation_bytes(), 2 * 4 * 4);
  one.add(ReLU{});
  EXPECT_EQ(plan_model(one).buffers.buffer_elements, (std::vector<int64_t>{4}));
  Model none;
  none.input = one.input;
  none.output.quant = none.input.quant;
  EXPECT_EQ(plan_model(none).peak_activation_bytes(), 4 * 4);
}

TEST(Liveness, AResidualBlockNeedsThreeBuffers) {
  std::mt19937 rng(137);
  const ModelPlan plan = plan_model(residual_block(rng));
  // Values 1, 2, 3 ([4,4,4], 64 codes each) are alive together while op 2 runs: value 1 waits for the add.
  // The add's output takes value 2's buffer, freed after op 2; flatten's the first free one (value 1's).
  EXPECT_EQ(plan.last_reader, (std::vector<int64_t>{0, 3, 2, 3, 4, 5, 6}));
  EXPECT_EQ(plan.buffers.buffer_of, (std::vector<int>{-1, 0, 1, 2, 1, 0, -1}));
  EXPECT_EQ(plan.buffers.buffer_elements, (std::vector<int64_t>{64, 64, 64}));
  // Peak: 3 x 64 codes while op 2 and op 3 run (op 0 holds 32 + 64).
  EXPECT_EQ(plan.peak_activation_bytes(), 3 * 64 * 4);
}

TEST(Liveness, BranchesJoinedByAConcatReuseBuffersByBestFit) {
  std::mt19937 rng(138);
  Model model;
  model.input = {{1, 6, 6}, {0.02, 128, 8, false}, {0.5}, {0.25}};
  model.add(conv3x3(rng, model.input.quant, 1, 8));  // value 1: [8,6,6], 288
  const QuantParams q1 = model.output.quant;
  model.add(conv3x3(rng, model.input.quant, 1, 2), {0});  // value 2: [2,6,6], 72, from the input again
  const QuantParams q2 = model.output.quant;
  model.add(Concat::make({q1, q2}, q1), {1, 2});  // value 3: [10,6,6], 360
  model.add(MaxPool2d{testing::window(2, 2)});    // value 4: [10,3,3], 90
  model.add(Flatten{});                           // value 5: 90
  model.add(testing::random_linear(rng, model.output.quant, 90, 3, {}));
  const ModelPlan plan = plan_model(model);
  // 288 -> A; 72 -> B (A busy); 360 -> C (both busy); 90 -> A (free: A 288, B 72; A is the smallest that
  // fits); 90 -> C (free: B 72, C 360).
  EXPECT_EQ(plan.buffers.buffer_of, (std::vector<int>{-1, 0, 1, 2, 0, 2, -1}));
  EXPECT_EQ(plan.buffers.buffer_elements, (std::vector<int64_t>{288, 72, 360}));
  // Peak while the concat runs: 288 + 72 + 360 codes (the input is no longer needed).
  EXPECT_EQ(plan.peak_activation_bytes(), (288 + 72 + 360) * 4);
  const IntTensor input = testing::random_input(rng, model, 3);
  EXPECT_EQ(run(model, input).data, evaluate_naively(model, input));
}

// ---- the model file --------------------------------------------------------------------------------

TEST(GraphFile, RandomGraphsRoundTripExactly) {
  std::mt19937 rng(139);
  int version3 = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const Model model = testing::random_graph(rng, 2 + trial % 7, 3 + trial % 8);
    const std::vector<uint8_t> bytes = serialize_model(model);
    EXPECT_EQ(bytes[8], required_format_version(model));
    version3 += bytes[8] == 3;
    const Model loaded = deserialize_model(bytes, "graph.qgm");
    ASSERT_EQ(loaded.ops.size(), model.ops.size());
    for (size_t i = 0; i < model.ops.size(); ++i) {
      EXPECT_EQ(loaded.ops[i].index(), model.ops[i].index());
      EXPECT_EQ(loaded.inputs_of(i), model.inputs_of(i));
    }
    EXPECT_EQ(serialize_model(loaded), bytes) << "save(load(f)) == f";
    const IntTensor input = testing::random_input(rng, model, 2);
    EXPECT_EQ(run(loaded, input).data, run(model, input).data);
  }
  EXPECT_GT(version3, 30);
}

// A hand-made graph (every op of version 3) and its header: "inputs" only where an op does not read the value
// before it.
Model small_graph() {
  std::mt19937 rng(140);
  Model model = residual_block(rng);  // ops 0-2 conv, 3 add (values 1, 3), 4 flatten, 5 linear
  model.ops.resize(4);
  model.output.quant = std::get<Add>(model.ops[3]).output_quant;
  const QuantParams q = model.output.quant;
  model.add(Clip{q.zero_point, q.zero_point + 100});  // value 5
  const QuantParams other{q.scale * 2, 3, 8, false};
  model.add(Concat::make({q, std::get<Conv2d>(model.ops[1]).output_stage.output}, other), {5, 2});
  model.add(Flatten{});
  model.add(testing::random_linear(rng, other, 128, 3, {}));
  return model;
}

TEST(GraphFile, InputsAreWrittenOnlyWhereTheGraphIsNotAChain) {
  const Model model = small_graph();
  const EncodedModel encoded = encode_model(model);
  const nlohmann::json& ops = encoded.header["ops"];
  EXPECT_FALSE(ops[2].contains("inputs"));
  EXPECT_EQ(ops[3]["inputs"], nlohmann::json::array({1, 3}));
  EXPECT_FALSE(ops[4].contains("inputs"));
  EXPECT_EQ(ops[5]["inputs"], nlohmann::json::array({5, 2}));
  EXPECT_EQ(ops[3]["type"], "add");
  EXPECT_EQ(ops[3]["clamp"], nlohmann::json::array({0, 255}));
  EXPECT_EQ(ops[3]["input_quants"].size(), 2u);
  EXPECT_EQ(ops[4]["type"], "clip");
  EXPECT_EQ(ops[5]["type"], "concat");
  EXPECT_EQ(ops[5]["output_quant"]["zero_point"], 3);
  EXPECT_EQ(serialize_model(model)[8], 3);
}

// The same file as `bytes` with its header JSON edited, the lengths and the checksum recomputed.
std::vector<uint8_t> edited(const Model& model, const std::function<void(nlohmann::json&)>& edit,
                            uint32_t version = 0) {
  EncodedModel encoded = encode_model(model);
  edit(encoded.header);
  return util::write_container(kModelFileFormat, version ? version : required_format_version(model),
                               encoded.header.dump(), encoded.data);
}

TEST(GraphFile, BadInputsAreRefusedNamingTheField) {
  const Model model = small_graph();
  const auto load_error = [&](const std::function<void(nlohmann::json&)>& edit) {
    return error_of([&] { deserialize_model(edited(model, edit), "m.qgm"); });
  };
  EXPECT_EQ(
      load_error([](nlohmann::json& h) {
        h["ops"][3]["inputs"] = {1, 9};
      }),
      "load_model: m.qgm: header field /ops/3/inputs/1: op 3 can read only values 0..3 (the model input and "
      "the outputs of the ops before it), found 9");
  EXPECT_EQ(
      load_error([](nlohmann::json& h) {
        h["ops"][3]["inputs"] = {4, 1};
      }),
      "load_model: m.qgm: header field /ops/3/inputs/0: op 3 can read only values 0..3 (the model input and "
      "the outputs of the ops before it), found 4");
  EXPECT_EQ(
      load_error([](nlohmann::json& h) { h["ops"][0]["inputs"] = {-1}; }),
      "load_model: m.qgm: header field /ops/0/inputs/0: op 0 can read only values 0..0 (the model input and "
      "the outputs of the ops before it), found -1");
  EXPECT_EQ(load_error([](nlohmann::json& h) { h["ops"][3]["inputs"] = {1}; }),
            "load_model: m.qgm: header field /ops/3/inputs: add takes 2 inputs, found 1");
  EXPECT_EQ(load_error([](nlohmann::json& h) {
              h["ops"][4]["inputs"] = {1, 2};
            }),
            "load_model: m.qgm: header field /ops/4/inputs: clip takes 1 input, found 2");
  EXPECT_EQ(load_error([](nlohmann::json& h) { h["ops"][5]["inputs"] = nlohmann::json::array(); }),
            "load_model: m.qgm: header field /ops/5/inputs: concat takes 2 or more inputs, found 0");
  EXPECT_EQ(load_error([](nlohmann::json& h) { h["ops"][3].erase("inputs"); }),
            "load_model: m.qgm: header field /ops/3/inputs: missing field (add takes 2 inputs)");
  EXPECT_EQ(load_error([](nlohmann::json& h) { h["ops"][3]["inputs"] = "1"; }),
            "load_model: m.qgm: header field /ops/3/inputs: expected an array, found string");
  EXPECT_EQ(load_error([](nlohmann::json& h) { h["ops"][3]["inputs"][0] = 1.5; }),
            "load_model: m.qgm: header field /ops/3/inputs/0: expected an integer, found 1.5");
  // In range, but the shapes no longer fit: the model's check names the op.
  EXPECT_EQ(load_error([](nlohmann::json& h) {
              h["ops"][3]["inputs"] = {0, 3};
            }),
            "load_model: m.qgm: op 3 (add) on inputs [2,4,4] and [4,4,4]: input 0 has scale 0.02, zero point "
            "128, 8-bit unsigned but the op was built for " +
                quant_to_string(std::get<Add>(model.ops[3]).input_quant[0]));
  EXPECT_TRUE(
      contains(load_error([](nlohmann::json& h) {
                 h["ops"][3]["clamp"] = {0, 256};
               }),
               "header field /ops/3: clamp range [0, 256] is not an ordered range inside the output codes"));
  EXPECT_TRUE(contains(load_error([](nlohmann::json& h) { h["ops"][5]["input_quants"][1]["bits"] = 9; }),
                       "header field /ops/5/input_quants/1/bits: expected an integer in [1, 8], found 9"));
  EXPECT_TRUE(
      contains(load_error([](nlohmann::json& h) { h["ops"][5]["input_quants"].erase(1); }),
               "op 5 (concat) on inputs [4,4,4] and [4,4,4]: the op was built for 1 input but reads 2"));
}

TEST(GraphFile, AGraphOrANewOpNeedsVersion3) {
  const Model graph = small_graph();
  EXPECT_EQ(
      error_of([&] {
        deserialize_model(edited(
                              graph, [](nlohmann::json&) {}, 2),
                          "m.qgm");
      }),
      "load_model: m.qgm: the model has an add op, which needs format version 3, but offset 8 declares 2");
  // A graph of version-1 ops: a conv reading the model input a second time.
  std::mt19937 rng(141);
  Model model;
  model.input = {{2, 4, 4}, {0.02, 128, 8, false}, {0.5}, {0.25}};
  const Conv2d conv = conv3x3(rng, model.input.quant, 2, 2);
  model.add(conv);
  model.add(conv, {0});
  EXPECT_EQ(required_format_version(model), 3u);
  EXPECT_EQ(
      error_of([&] {
        deserialize_model(edited(
                              model, [](nlohmann::json&) {}, 1),
                          "m.qgm");
      }),
      "load_model: m.qgm: op 1 (conv2d) reads values [0] instead of the value before it: a graph, which "
      "needs format version 3, but offset 8 declares 1");
  EXPECT_NO_THROW(deserialize_model(edited(
                                        model, [](nlohmann::json&) {}, 3),
                                    "m.qgm"));
  // A chain of the new op clip alone.
  Model clipped;
  clipped.input = model.input;
  clipped.add(Clip{128, 200});
  EXPECT_EQ(required_format_version(clipped), 3u);
  // Naming the value before an op is a chain, also in an old file.
  Model chain;
  chain.input = model.input;
  chain.add(conv);
  EXPECT_NO_THROW(deserialize_model(edited(
                                        chain, [](nlohmann::json& h) { h["ops"][0]["inputs"] = {0}; }, 1),
                                    "m.qgm"));
}

// tests/fixtures/formats/graph_v3.qgm, written by the build that introduced version 3 (small_graph()), still
// loads and saves to the same bytes.
TEST(GraphFile, TheVersion3FixtureLoadsAndSavesToTheSameBytes) {
  const std::string path = std::string(QG_FIXTURES_DIR) + "/formats/graph_v3.qgm";
  const Model model = load_model(path);
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(bytes[8], 3);
  EXPECT_EQ(serialize_model(model), bytes);
  EXPECT_EQ(model.inputs_of(5), (std::vector<int64_t>{5, 2}));
}

// Random damage to a graph file with a fresh checksum (so that it reaches the parser, the "inputs" included):
// every outcome is a valid model or a ModelFileError, and what loads saves to a file that loads again.
TEST(GraphFile, RandomDamageIsAlwaysReportedCleanly) {
  const std::vector<uint8_t> file = serialize_model(small_graph());
  std::mt19937 rng(142);
  std::uniform_int_distribution<size_t> position(0, file.size() - 5);
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bad = file;
    for (int e = 0; e <= i % 3; ++e)
      bad[position(rng)] = static_cast<uint8_t>(rng() % 256);
    const size_t body = bad.size() - 4;
    const uint32_t crc = util::crc32(std::span<const uint8_t>(bad).first(body));
    for (size_t k = 0; k < 4; ++k)
      bad[body + k] = static_cast<uint8_t>(crc >> (8 * k));
    try {
      const Model loaded = deserialize_model(bad, "fuzz");
      EXPECT_NO_THROW(deserialize_model(serialize_model(loaded), "again")) << "edit " << i;
    } catch (const ModelFileError&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL() << "edit " << i << " escaped as " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace qg::runtime
