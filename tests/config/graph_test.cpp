// Graph configs: "name" and "inputs" (docs/config.md 2.1), resolved and checked by shape inference.
#include <gtest/gtest.h>

#include "config/builder.h"
#include "config/config_json.h"
#include "config/layer_kind.h"
#include "config/loader.h"
#include "config/summary.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

using testing::expect_document_error;
using testing::net_document;

TEST(GraphConfig, AChainNeedsNoNamesAndReadsThePreviousLayer) {
  const ModelConfig config = parse_config(net_document(), "net");
  EXPECT_TRUE(config.is_chain());
  EXPECT_EQ(config.layers[0].input_layers, (std::vector<int64_t>{LayerSpec::kModelInput}));
  EXPECT_EQ(config.layers[5].input_layers, (std::vector<int64_t>{4}));
  // Written without either key, as before graphs.
  const nlohmann::json written = config_to_json(config);
  for (const auto& layer : written["layers"]) {
    EXPECT_FALSE(layer.contains("name")) << layer;
    EXPECT_FALSE(layer.contains("inputs")) << layer;
  }
}

TEST(GraphConfig, NamedInputsThatFormAChainAreTheSameModel) {
  nlohmann::json document = net_document();
  document["layers"][0]["name"] = "conv1";
  document["layers"][1]["inputs"] = {"conv1"};
  document["layers"][0]["inputs"] = {"input"};
  const ModelConfig named = parse_config(document, "named");
  const ModelConfig plain = parse_config(net_document(), "plain");
  EXPECT_TRUE(named.is_chain());
  for (size_t i = 0; i < plain.layers.size(); ++i) {
    EXPECT_EQ(named.layers[i].input_layers, plain.layers[i].input_layers) << i;
    EXPECT_EQ(named.layers[i].output_shape, plain.layers[i].output_shape) << i;
  }
  // The writer keeps the names and inputs as written, and reading that back gives the same graph.
  const nlohmann::json written = config_to_json(named);
  EXPECT_EQ(written["layers"][0]["name"], "conv1");
  EXPECT_EQ(written["layers"][1]["inputs"], nlohmann::json({"conv1"}));
  const ModelConfig again = parse_config(written, "again");
  EXPECT_EQ(again.layers[1].inputs, std::vector<std::string>{"conv1"});
  EXPECT_EQ(again.layers[0].name, "conv1");
  // The float models have the same parameter names.
  Generator g1(1), g2(1);
  const auto a = build_model(named, g1);
  const auto b = build_model(plain, g2);
  ASSERT_EQ(a->state().size(), b->state().size());
  for (size_t i = 0; i < a->state().size(); ++i)
    EXPECT_EQ(a->state()[i].first, b->state()[i].first);
}

TEST(GraphConfig, UnknownInputNameListsTheNamedLayers) {
  nlohmann::json document = net_document();
  document["layers"][0]["name"] = "stem";
  document["layers"][1]["inputs"] = {"stme"};
  expect_document_error(
      document, "/layers/1/inputs/0",
      {"unknown layer name \"stme\"", "the named layers are \"stem\"", "\"input\" is the model input"});
}

TEST(GraphConfig, ANameIsUniqueAndNotInput) {
  nlohmann::json document = net_document();
  document["layers"][0]["name"] = "a";
  document["layers"][3]["name"] = "a";
  expect_document_error(document, "/layers/3/name",
                        {"the name \"a\" is already layer 0 (\"a\")'s", "unique"});
  document = net_document();
  document["layers"][2]["name"] = "input";
  expect_document_error(document, "/layers/2/name", {"\"input\" names the model input"});
  document = net_document();
  document["layers"][2]["name"] = "";
  expect_document_error(document, "/layers/2/name", {"expected a non-empty layer name"});
  document = net_document();
  document["layers"][2]["name"] = 3;
  expect_document_error(document, "/layers/2/name", {"expected a string, found"});
}

TEST(GraphConfig, InputsMustBeANonEmptyArrayOfNames) {
  nlohmann::json document = net_document();
  document["layers"][1]["inputs"] = "input";
  expect_document_error(document, "/layers/1/inputs", {"expected a non-empty array of layer names"});
  document["layers"][1]["inputs"] = nlohmann::json::array();
  expect_document_error(document, "/layers/1/inputs", {"expected a non-empty array of layer names"});
  document["layers"][1]["inputs"] = {"input", 2};
  expect_document_error(document, "/layers/1/inputs/1",
                        {"expected a layer name (a non-empty string), found"});
}

TEST(GraphConfig, ALaterLayerIsRefusedAndACycleIsNamed) {
  // Layer 1 reads layer 2, which reads layer 0: no cycle, but the list is not in running order.
  nlohmann::json document = net_document();
  document["layers"][0]["name"] = "a";
  document["layers"][1]["inputs"] = {"p"};
  document["layers"][2]["name"] = "p";
  document["layers"][2]["inputs"] = {"a"};
  expect_document_error(
      document, "/layers/1/inputs/0",
      {"layer 2 (\"p\") comes after layer 1 (relu)", "list every layer below the layers it reads"});
  // Layer 2 reads the layer before it by default, so layer 1 reading it closes a cycle.
  document = net_document();
  document["layers"][1]["name"] = "r";
  document["layers"][1]["inputs"] = {"p"};
  document["layers"][2]["name"] = "p";
  expect_document_error(
      document, "/layers/1/inputs/0",
      {"the layers form a cycle: layer 1 (\"r\") reads layer 2 (\"p\") reads layer 1 (\"r\")"});
  document = net_document();
  document["layers"][1]["name"] = "r";
  document["layers"][1]["inputs"] = {"r"};
  expect_document_error(document, "/layers/1/inputs/0",
                        {"the layers form a cycle: layer 1 (\"r\") reads itself"});
}

TEST(GraphConfig, ALayerReadsAsManyInputsAsItsKindTakes) {
  nlohmann::json document = net_document();
  document["layers"][0]["name"] = "a";
  document["layers"][1]["inputs"] = {"a", "input"};
  expect_document_error(document, "/layers/1/inputs", {"relu reads 1 layer but its \"inputs\" name 2"});
}

TEST(GraphConfig, EveryOutputButTheLastIsRead) {
  nlohmann::json document = net_document();
  document["layers"][1]["inputs"] = {"input"};  // nothing reads layer 0 any more
  expect_document_error(
      document, "/layers/0",
      {"no layer reads the output of layer 0 (conv2d)", "only the last layer's output leaves the model"});
}

}  // namespace
}  // namespace qg::config

namespace qg::config {
namespace {

/// [1, 28, 28] -> conv "a" -> relu "b"; conv "c" reads a; then the given merge layer reads b and c; flatten, linear.
nlohmann::json two_branch_document(const nlohmann::json& merge, int64_t c_channels = 4,
                                   int64_t c_stride = 1) {
  return nlohmann::json{
      {"name", "branches"},
      {"input", {{"shape", {1, 28, 28}}}},
      {"layers",
       {{{"type", "conv2d"}, {"out_channels", 4}, {"kernel_size", 3}, {"padding", 1}, {"name", "a"}},
        {{"type", "relu"}, {"name", "b"}},
        {{"type", "conv2d"},
         {"out_channels", c_channels},
         {"kernel_size", 1},
         {"stride", c_stride},
         {"name", "c"},
         {"inputs", {"a"}}},
        merge,
        {{"type", "global_avgpool"}},
        {{"type", "flatten"}},
        {{"type", "linear"}, {"out_features", 10}}}}};
}

TEST(GraphConfig, AddAndConcatCombineBranches) {
  const ModelConfig add = parse_config(two_branch_document({{"type", "add"}, {"inputs", {"b", "c"}}}), "add");
  EXPECT_FALSE(add.is_chain());
  EXPECT_EQ(add.layers[3].input_layers, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(add.layers[3].output_shape, (Shape{4, 28, 28}));
  EXPECT_EQ(add.layers[4].output_shape, (Shape{4, 1, 1}));
  const ModelConfig cat =
      parse_config(two_branch_document({{"type", "concat"}, {"inputs", {"b", "c", "a"}}}, 6), "cat");
  EXPECT_EQ(cat.layers[3].output_shape, (Shape{14, 28, 28}));
  EXPECT_EQ(cat.layers[6].in_features, 14);
  // The float model runs the graph: [N, 1, 8, 8] -> [N, 10].
  Generator gen(3);
  const auto model = build_model(cat, gen);
  EXPECT_EQ(model->inputs(3), (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(model->forward(Tensor::ones({2, 1, 28, 28})).shape(), (Shape{2, 10}));
}

TEST(GraphConfig, AddAndConcatRefuseInputsTheyCannotCombine) {
  expect_document_error(two_branch_document({{"type", "add"}, {"inputs", {"b", "c"}}}, 8), "/layers/3",
                        {"add inputs must have the same shape: [N,4,28,28] and [N,8,28,28]", "projection"});
  expect_document_error(two_branch_document({{"type", "concat"}, {"inputs", {"b", "c"}}}, 4, 2), "/layers/3",
                        {"concat joins channels, so its inputs must agree in every other size: input 0 is "
                         "[N,4,28,28], input 1 is [N,4,14,14]"});
  expect_document_error(two_branch_document({{"type", "add"}, {"inputs", {"b", "c", "a"}}}),
                        "/layers/3/inputs", {"add reads 2 layers but its \"inputs\" name 3"});
  expect_document_error(two_branch_document({{"type", "concat"}}), "/layers/3",
                        {"concat reads 2 or more layers but has no \"inputs\""});
}

TEST(GraphConfig, TheSummaryListsWhatEachLayerReads) {
  const ModelConfig add = parse_config(two_branch_document({{"type", "add"}, {"inputs", {"b", "c"}}}), "add");
  const std::string text = summary(add);
  EXPECT_NE(text.find("Conv2d-2 reads Conv2d-0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Add-3 reads ReLU-1, Conv2d-2\n"), std::string::npos) << text;
}

TEST(GraphConfig, TheShippedResNetIsAGraphWithThreeResidualAdds) {
  const ModelConfig config = load_config(testing::shipped_config("fashion_resnet.json"));
  EXPECT_FALSE(config.is_chain());
  int adds = 0;
  for (const LayerSpec& layer : config.layers)
    adds += layer.kind->name == "add";
  EXPECT_EQ(adds, 3);
  EXPECT_EQ(config.output_shape(), (Shape{10}));
  // The downsampling block's shortcut: a strided 1x1 conv reading block 1's output.
  EXPECT_EQ(config.layers[15].kernel_size, 1);
  EXPECT_EQ(config.layers[15].stride, 2);
  EXPECT_EQ(config.layers[15].input_layers, (std::vector<int64_t>{9}));
  EXPECT_EQ(config.layers[17].output_shape, (Shape{32, 14, 14}));
}

}  // namespace
}  // namespace qg::config
