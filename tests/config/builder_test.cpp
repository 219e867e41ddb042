// build_model turns a config into an nn::Graph whose names, shapes and counts match the config.
#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "config/builder.h"
#include "config/layer_kind.h"
#include "config/loader.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

using testing::shipped_config;

using NamedShapes = std::vector<std::pair<std::string, Shape>>;

NamedShapes shapes_of(const nn::NamedTensors& tensors) {
  NamedShapes out;
  for (const auto& [name, tensor] : tensors)
    out.emplace_back(name, tensor.shape());
  return out;
}

/// Each module's type, parameter and buffer counts agree with its LayerSpec.
void expect_modules_match_layers(const nn::Graph& model, const ModelConfig& config) {
  ASSERT_EQ(model.size(), config.layers.size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    const nn::Module& module = *model[i];
    EXPECT_EQ(module.type_name(), config.layers[i].kind->module);
    EXPECT_EQ(module.parameter_count(), config.layers[i].parameter_count);
    int64_t buffer_elements = 0;
    for (const auto& [name, buffer] : module.named_buffers())
      buffer_elements += buffer.numel();
    EXPECT_EQ(buffer_elements, config.layers[i].buffer_count);
  }
  EXPECT_EQ(model.parameter_count(), config.parameter_count());
}

TEST(Builder, NetHasTorchSequentialNames) {
  const ModelConfig config = load_config(shipped_config("mnist_cnn.json"));
  Generator gen(1);
  const auto model = build_model(config, gen);
  EXPECT_EQ(shapes_of(model->named_parameters()), (NamedShapes{{"0.weight", {40, 1, 3, 3}},
                                                               {"0.bias", {40}},
                                                               {"3.weight", {40, 2, 3, 3}},
                                                               {"3.bias", {40}},
                                                               {"7.weight", {10, 1000}},
                                                               {"7.bias", {10}}}));
  EXPECT_TRUE(model->named_buffers().empty());
  expect_modules_match_layers(*model, config);
  EXPECT_EQ(model->layers()[3]->describe(), "Conv2d(40, 40, kernel_size=3, stride=1, groups=20)");
}

TEST(Builder, NetBNHasTorchSequentialNamesAndBuffers) {
  const ModelConfig config = load_config(shipped_config("mnist_cnn_bn.json"));
  Generator gen(1);
  const auto model = build_model(config, gen);
  EXPECT_EQ(shapes_of(model->named_parameters()), (NamedShapes{{"0.weight", {40, 1, 3, 3}},
                                                               {"0.bias", {40}},
                                                               {"1.weight", {40}},
                                                               {"1.bias", {40}},
                                                               {"4.weight", {40, 40, 3, 3}},
                                                               {"4.bias", {40}},
                                                               {"5.weight", {40}},
                                                               {"5.bias", {40}},
                                                               {"9.weight", {10, 1000}},
                                                               {"9.bias", {10}}}));
  EXPECT_EQ(shapes_of(model->named_buffers()), (NamedShapes{{"1.running_mean", {40}},
                                                            {"1.running_var", {40}},
                                                            {"1.num_batches_tracked", {}},
                                                            {"5.running_mean", {40}},
                                                            {"5.running_var", {40}},
                                                            {"5.num_batches_tracked", {}}}));
  expect_modules_match_layers(*model, config);
}

TEST(Builder, SameSeedSameWeightsDifferentSeedDifferentWeights) {
  const ModelConfig config = load_config(shipped_config("mnist_cnn.json"));
  Generator a(7), b(7), c(8);
  const auto first = build_model(config, a);
  const auto second = build_model(config, b);
  const auto third = build_model(config, c);
  const auto p1 = first->parameters(), p2 = second->parameters(), p3 = third->parameters();
  ASSERT_EQ(p1.size(), p2.size());
  for (std::size_t i = 0; i < p1.size(); ++i)
    EXPECT_EQ(p1[i].to_vector(), p2[i].to_vector());
  EXPECT_NE(p1[0].to_vector(), p3[0].to_vector());
}

/// Every layer type and option: conv2d with stride, padding, dilation, groups and no bias; batchnorm2d
/// with eps and momentum; avgpool2d with padding; maxpool2d with stride != kernel_size; linear without bias.
/// Shapes and counts checked against torch 1.13 (nn.Sequential with the same layers on a [1,1,28,28] input).
const char* kEveryLayerConfig = R"({
  "name": "every_layer",
  "input": {"shape": [1, 28, 28]},
  "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 2, "dilation": 2},
    {"type": "batchnorm2d", "eps": 0.001, "momentum": 0.2},
    {"type": "relu"},
    {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "in_channels": 8, "out_channels": 4, "kernel_size": 1, "groups": 2, "bias": false},
    {"type": "flatten"},
    {"type": "linear", "in_features": 36, "out_features": 10, "bias": false}
  ]
})";

TEST(Builder, EveryLayerTypeBuilds) {
  const ModelConfig config = parse_config_text(kEveryLayerConfig, "every_layer");
  const std::vector<Shape> torch_shapes = {{8, 14, 14}, {8, 14, 14}, {8, 14, 14}, {8, 7, 7},
                                           {8, 3, 3},   {4, 3, 3},   {36},        {10}};
  // torch: conv 8*1*9 + 8 = 80; bn 16; conv 4*(8/2)*1*1 = 16 (no bias); linear 36*10 = 360.
  const std::vector<int64_t> torch_parameters = {80, 16, 0, 0, 0, 16, 0, 360};
  ASSERT_EQ(config.layers.size(), torch_shapes.size());
  for (std::size_t i = 0; i < torch_shapes.size(); ++i) {
    EXPECT_EQ(config.layers[i].output_shape, torch_shapes[i]) << "layer " << i;
    EXPECT_EQ(config.layers[i].parameter_count, torch_parameters[i]) << "layer " << i;
  }
  Generator gen(0);
  const auto model = build_model(config, gen);
  expect_modules_match_layers(*model, config);
  EXPECT_EQ(model->layers()[0]->describe(), "Conv2d(1, 8, kernel_size=3, stride=2, padding=2, dilation=2)");
  EXPECT_EQ(model->layers()[1]->describe(), "BatchNorm2d(8, eps=0.001, momentum=0.2)");
  EXPECT_EQ(model->layers()[3]->describe(), "AvgPool2d(kernel_size=3, stride=2, padding=1)");
  EXPECT_EQ(model->layers()[4]->describe(), "MaxPool2d(kernel_size=2, stride=2, padding=0)");
  EXPECT_EQ(model->layers()[5]->describe(), "Conv2d(8, 4, kernel_size=1, stride=1, groups=2, bias=False)");
  EXPECT_EQ(model->layers()[7]->describe(), "Linear(in_features=36, out_features=10, bias=False)");
  EXPECT_EQ(shapes_of(model->named_parameters()), (NamedShapes{{"0.weight", {8, 1, 3, 3}},
                                                               {"0.bias", {8}},
                                                               {"1.weight", {8}},
                                                               {"1.bias", {8}},
                                                               {"5.weight", {4, 4, 1, 1}},
                                                               {"7.weight", {10, 36}}}));
}

TEST(Builder, ForwardPassShapesMatchTheInferredShapes) {
  for (const std::string& config_text : {std::string(kEveryLayerConfig), testing::net_document().dump()}) {
    const ModelConfig config = parse_config_text(config_text, "forward");
    SCOPED_TRACE(config.name);
    Generator gen(3);
    const auto model = build_model(config, gen);
    NoGradGuard no_grad;
    Tensor x = Tensor::randn({2, 1, 28, 28}, gen);
    for (std::size_t i = 0; i < model->size(); ++i) {
      x = (*model)[i]->forward(x);
      Shape expected = config.layers[i].output_shape;
      expected.insert(expected.begin(), 2);
      EXPECT_EQ(x.shape(), expected) << "layer " << i;
    }
  }
}

TEST(Builder, RefusesConfigsWithoutInferredShapes) {
  ModelConfig config;
  config.source = "made in code";
  config.input_shape = {1, 28, 28};
  config.layers.push_back(LayerSpec{});
  Generator gen(0);
  EXPECT_THROW(build_model(config, gen), std::invalid_argument);
}

}  // namespace
}  // namespace qg::config
