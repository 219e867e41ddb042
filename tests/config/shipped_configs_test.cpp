// The configs in configs/ load and describe the tutorial's models exactly.
#include <gtest/gtest.h>

#include "config/layer_kind.h"
#include "config/loader.h"
#include "config/quant_recipe.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

using testing::shipped_config;

struct ExpectedLayer {
  std::string kind;
  Shape output_shape;
  int64_t parameters;
  int64_t buffers;
};

void expect_layers(const ModelConfig& config, const std::vector<ExpectedLayer>& expected) {
  ASSERT_EQ(config.layers.size(), expected.size());
  Shape input = config.input_shape;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    const LayerSpec& layer = config.layers[i];
    EXPECT_EQ(layer.kind->name, expected[i].kind);
    EXPECT_EQ(layer.input_shape, input);
    EXPECT_EQ(layer.output_shape, expected[i].output_shape);
    EXPECT_EQ(layer.parameter_count, expected[i].parameters);
    EXPECT_EQ(layer.buffer_count, expected[i].buffers);
    input = layer.output_shape;
  }
}

void expect_tutorial_training(const TrainConfig& train) {
  EXPECT_EQ(train.epochs, 5);
  EXPECT_EQ(train.batch_size, 64);
  EXPECT_EQ(train.test_batch_size, 1000);
  EXPECT_EQ(train.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(train.lr, 0.01);
  EXPECT_DOUBLE_EQ(train.momentum, 0.5);
  EXPECT_DOUBLE_EQ(train.weight_decay, 0.0);
  EXPECT_FALSE(train.nesterov);
  EXPECT_EQ(train.seed, 1u);
}

// The shipped configs name the recommended method and leave its choices to it (config/quant_recipe.h).
void expect_default_quant(const QuantConfig& quant) {
  EXPECT_EQ(quant.method, "lsq");
  EXPECT_EQ(quant.bits, 8);
  EXPECT_EQ(quant.ptq_batches, 500);
  EXPECT_EQ(quant.qat_epochs, 1);
  EXPECT_FALSE(quant.observer || quant.per_channel || quant.symmetric || quant.is_signed || quant.ste ||
               quant.qat_lr || quant.qat_momentum || quant.qat_optimizer || quant.lr_schedule ||
               quant.freeze_bn_epoch || quant.freeze_observers_epoch || quant.input_bits ||
               quant.warmup_epochs || quant.first_layer_bits || quant.last_layer_bits);
  EXPECT_DOUBLE_EQ(quant.observer_momentum, 0.1);
  EXPECT_DOUBLE_EQ(quant.percentile, 99.99);
  const QuantRecipe r = resolve_quant(quant);
  EXPECT_TRUE(r.per_channel && r.symmetric && r.is_signed && r.fuse_relu);
  EXPECT_EQ(r.qat_optimizer, "sgd");
  EXPECT_DOUBLE_EQ(r.qat_lr, 0.01);
  EXPECT_DOUBLE_EQ(r.qat_momentum, 0.9);
  EXPECT_EQ(r.lr_schedule, "cosine");
  EXPECT_DOUBLE_EQ(r.warmup_epochs, 0.5);
  EXPECT_EQ(r.freeze_bn_epoch, 0);
}

TEST(QuantRecipe, TheTutorialMethodIsTodaysBehaviour) {
  QuantConfig quant;
  quant.method = "tutorial";
  const QuantRecipe r = resolve_quant(quant);
  EXPECT_EQ(r.observer, "minmax");
  EXPECT_FALSE(r.per_channel || r.symmetric || r.is_signed || r.fuse_relu);
  EXPECT_EQ(r.ste, "identity");
  EXPECT_EQ(r.qat_optimizer, "sgd");
  EXPECT_DOUBLE_EQ(r.qat_lr, 0.01);
  EXPECT_DOUBLE_EQ(r.qat_momentum, 0.5);
  EXPECT_EQ(r.lr_schedule, "constant");
  EXPECT_DOUBLE_EQ(r.warmup_epochs, 0.0);
  EXPECT_EQ(r.freeze_bn_epoch, QuantConfig::kNever);
  EXPECT_EQ(r.freeze_observers_epoch, QuantConfig::kNever);
}

TEST(QuantRecipe, GivenKeysOverrideTheMethodsDefaults) {
  nlohmann::json document = testing::net_document();
  document["quant"] = {{"method", "ema"},
                       {"qat_lr", 0.003},
                       {"per_channel", false},
                       {"freeze_bn_epoch", nullptr},
                       {"lr_schedule", "step"}};
  const QuantRecipe r = resolve_quant(parse_config(document, "x.json").quant);
  EXPECT_DOUBLE_EQ(r.qat_lr, 0.003);
  EXPECT_FALSE(r.per_channel);
  EXPECT_EQ(r.freeze_bn_epoch, QuantConfig::kNever);
  EXPECT_EQ(r.lr_schedule, "step");
  EXPECT_EQ(r.observer, "moving_average_minmax");  // not given: ema's
}

TEST(QuantRecipe, LayerWidthsFollowFirstLastAndTheLayersOwnObject) {
  nlohmann::json document = testing::net_document();  // conv, relu, pool, conv, relu, pool, flatten, linear
  document["quant"] = {{"method", "binary"}, {"bits", 2}};  // binary keeps input and classifier at 8 bits
  document["layers"][3]["quant"] = {{"method", "lsq"}, {"weight_bits", 4}};
  const std::vector<LayerQuantRecipe> layers = resolve_layer_quant(parse_config(document, "x.json"));
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].layer, 0u);
  EXPECT_EQ(layers[0].method, "binary");
  EXPECT_EQ(layers[0].weight_bits, 1);  // binary: signs, whatever `bits` says
  EXPECT_EQ(layers[0].activation_bits, 2);
  EXPECT_EQ(layers[0].input_bits, 8);
  EXPECT_EQ(layers[1].method, "lsq");
  EXPECT_EQ(layers[1].weight_bits, 4);
  EXPECT_EQ(layers[1].activation_bits, 2);
  EXPECT_EQ(layers[2].weight_bits, 8);
  EXPECT_EQ(layers[2].activation_bits, 8);
  EXPECT_TRUE(layers[2].last);
  // The per-layer object survives a round trip through the writer.
  const ModelConfig copy = revalidate(parse_config(document, "x.json"));
  EXPECT_EQ(copy.layers[3].quant.weight_bits, std::optional<int64_t>(4));
  EXPECT_FALSE(copy.layers[3].quant.activation_bits);
  // Given widths win over the method's.
  document["quant"] = {{"method", "binary"}, {"bits", 1}, {"input_bits", 4}, {"last_layer_bits", 2}};
  const std::vector<LayerQuantRecipe> given = resolve_layer_quant(parse_config(document, "x.json"));
  EXPECT_EQ(given[0].input_bits, 4);
  EXPECT_EQ(given[2].weight_bits, 2);
  EXPECT_EQ(given[2].activation_bits, 2);
}

TEST(ShippedConfigs, NetMatchesTheTutorial) {
  const ModelConfig config = load_config(shipped_config("mnist_cnn.json"));
  EXPECT_EQ(config.name, "mnist_cnn");
  EXPECT_EQ(config.source, shipped_config("mnist_cnn.json"));
  EXPECT_EQ(config.input_shape, (Shape{1, 28, 28}));
  // conv1: 40*1*3*3 + 40 = 400; conv2 (groups 20, so 2 input channels per filter): 40*2*3*3 + 40 = 760;
  // fc: 1000*10 + 10 = 10010.
  expect_layers(config, {{"conv2d", {40, 26, 26}, 400, 0},
                         {"relu", {40, 26, 26}, 0, 0},
                         {"maxpool2d", {40, 13, 13}, 0, 0},
                         {"conv2d", {40, 11, 11}, 760, 0},
                         {"relu", {40, 11, 11}, 0, 0},
                         {"maxpool2d", {40, 5, 5}, 0, 0},
                         {"flatten", {1000}, 0, 0},
                         {"linear", {10}, 10010, 0}});
  EXPECT_EQ(config.layers[3].groups, 20);
  EXPECT_EQ(config.layers[3].in_channels, 40);    // inferred
  EXPECT_EQ(config.layers[7].in_features, 1000);  // inferred
  EXPECT_EQ(config.parameter_count(), 11170);
  EXPECT_EQ(config.buffer_count(), 0);
  EXPECT_EQ(config.output_shape(), (Shape{10}));
  expect_tutorial_training(config.train);
  EXPECT_EQ(config.data.dataset, "mnist");
  EXPECT_EQ(config.data.root, "data/mnist");
  expect_default_quant(config.quant);
}

TEST(ShippedConfigs, NetBNMatchesTheTutorial) {
  const ModelConfig config = load_config(shipped_config("mnist_cnn_bn.json"));
  EXPECT_EQ(config.name, "mnist_cnn_bn");
  // conv2 has no groups: 40*40*3*3 + 40 = 14440. Each BatchNorm2d(40): weight and bias (80 parameters),
  // running_mean, running_var and num_batches_tracked (81 buffer elements). Totals checked against
  // torch 1.13: 25010 parameters, 162 buffer elements.
  expect_layers(config, {{"conv2d", {40, 26, 26}, 400, 0},
                         {"batchnorm2d", {40, 26, 26}, 80, 81},
                         {"relu", {40, 26, 26}, 0, 0},
                         {"maxpool2d", {40, 13, 13}, 0, 0},
                         {"conv2d", {40, 11, 11}, 14440, 0},
                         {"batchnorm2d", {40, 11, 11}, 80, 81},
                         {"relu", {40, 11, 11}, 0, 0},
                         {"maxpool2d", {40, 5, 5}, 0, 0},
                         {"flatten", {1000}, 0, 0},
                         {"linear", {10}, 10010, 0}});
  EXPECT_EQ(config.layers[4].groups, 1);
  EXPECT_EQ(config.layers[1].num_features, 40);  // inferred
  EXPECT_EQ(config.layers[5].num_features, 40);
  EXPECT_DOUBLE_EQ(config.layers[1].eps, 1e-5);
  EXPECT_DOUBLE_EQ(config.layers[1].momentum, 0.1);
  EXPECT_EQ(config.parameter_count(), 25010);
  EXPECT_EQ(config.buffer_count(), 162);
  expect_tutorial_training(config.train);
  EXPECT_EQ(config.data.dataset, "mnist");
  EXPECT_EQ(config.data.root, "data/mnist");
  expect_default_quant(config.quant);
}

TEST(ShippedConfigs, FashionConfigIsNetBNOnFashionMnist) {
  const ModelConfig fashion = load_config(shipped_config("fashion_cnn_bn.json"));
  const ModelConfig mnist = load_config(shipped_config("mnist_cnn_bn.json"));
  EXPECT_EQ(fashion.data.dataset, "fashion-mnist");
  EXPECT_EQ(fashion.data.root, "/usr/share/datasets/fashion-mnist");
  ASSERT_EQ(fashion.layers.size(), mnist.layers.size());
  for (std::size_t i = 0; i < fashion.layers.size(); ++i) {
    EXPECT_EQ(fashion.layers[i].kind, mnist.layers[i].kind);
    EXPECT_EQ(fashion.layers[i].output_shape, mnist.layers[i].output_shape);
    EXPECT_EQ(fashion.layers[i].parameter_count, mnist.layers[i].parameter_count);
  }
  expect_tutorial_training(fashion.train);
  expect_default_quant(fashion.quant);
}

TEST(ShippedConfigs, OmittedSectionsTakeTheDocumentedDefaults) {
  nlohmann::json document = testing::net_document();
  ASSERT_FALSE(document.contains("train"));
  const ModelConfig config = parse_config(document, "x.json");
  expect_tutorial_training(config.train);
  EXPECT_EQ(config.train.beta1, 0.9);
  EXPECT_EQ(config.train.beta2, 0.999);
  EXPECT_EQ(config.train.eps, 1e-8);
  EXPECT_EQ(config.data.dataset, "mnist");
  EXPECT_EQ(config.data.root, "data/mnist");
  expect_default_quant(config.quant);
}

TEST(ShippedConfigs, OmittedRootIsTheDatasetsDefaultRoot) {
  nlohmann::json document = testing::net_document();
  document["data"] = {{"dataset", "fashion-mnist"}};
  EXPECT_EQ(parse_config(document, "x.json").data.root, "/usr/share/datasets/fashion-mnist");
  document["data"] = {{"dataset", "mnist"}};
  EXPECT_EQ(parse_config(document, "x.json").data.root, "data/mnist");
  document["data"] = {{"dataset", "fashion-mnist"}, {"root", ""}};
  EXPECT_EQ(parse_config(document, "x.json").data.root, "/usr/share/datasets/fashion-mnist");
  document["data"] = {{"dataset", "fashion-mnist"}, {"root", "elsewhere"}};
  EXPECT_EQ(parse_config(document, "x.json").data.root, "elsewhere");
}

TEST(ShippedConfigs, KeysOfAnotherChoiceAreAcceptedSoSwitchingIsOneWord) {
  nlohmann::json document = testing::net_document();
  document["train"] = {
      {"optimizer", "adam"}, {"lr", 0.001}, {"momentum", 0.5}, {"beta1", 0.8}, {"eps", 1e-6}};
  document["quant"] = {{"method", "lsq"},    {"observer", "percentile"},
                       {"percentile", 99.9}, {"observer_momentum", 0.2},
                       {"bits", 4},          {"ste", "clipped"}};
  const ModelConfig config = parse_config(document, "x.json");
  EXPECT_EQ(config.train.optimizer, "adam");
  EXPECT_DOUBLE_EQ(config.train.beta1, 0.8);
  EXPECT_DOUBLE_EQ(config.train.beta2, 0.999);
  EXPECT_DOUBLE_EQ(config.train.eps, 1e-6);
  EXPECT_EQ(config.quant.observer,
            std::optional<std::string>("percentile"));  // kept for the observer methods
  EXPECT_DOUBLE_EQ(config.quant.percentile, 99.9);
  EXPECT_EQ(config.quant.bits, 4);
}

TEST(ShippedConfigs, PoolingStrideDefaultsToKernelSize) {
  nlohmann::json document = testing::net_document();
  document["layers"][2] = {{"type", "maxpool2d"}, {"kernel_size", 2}};
  const ModelConfig config = parse_config(document, "x.json");
  EXPECT_EQ(config.layers[2].stride, 2);
  EXPECT_EQ(config.layers[2].output_shape, (Shape{40, 13, 13}));
}

TEST(ShippedConfigs, GivenSizesThatAgreeAreAccepted) {
  nlohmann::json document = testing::net_document();
  document["layers"][3]["in_channels"] = 40;
  document["layers"][7]["in_features"] = 1000;
  const ModelConfig config = parse_config(document, "x.json");
  EXPECT_EQ(config.layers[3].in_channels, 40);
  EXPECT_EQ(config.layers[7].in_features, 1000);
}

}  // namespace
}  // namespace qg::config
