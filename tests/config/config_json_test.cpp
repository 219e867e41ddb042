// config_to_json is the inverse of parse_config, and revalidate re-checks configs changed in code.
#include <gtest/gtest.h>

#include "config/config_json.h"
#include "config/layer_kind.h"
#include "config/loader.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

using testing::shipped_config;

void expect_same_config(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.input_shape, b.input_shape);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    const LayerSpec& x = a.layers[i];
    const LayerSpec& y = b.layers[i];
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.in_channels, y.in_channels);
    EXPECT_EQ(x.out_channels, y.out_channels);
    EXPECT_EQ(x.kernel_size, y.kernel_size);
    EXPECT_EQ(x.stride, y.stride);
    EXPECT_EQ(x.padding, y.padding);
    EXPECT_EQ(x.dilation, y.dilation);
    EXPECT_EQ(x.groups, y.groups);
    EXPECT_EQ(x.bias, y.bias);
    EXPECT_EQ(x.num_features, y.num_features);
    EXPECT_EQ(x.eps, y.eps);
    EXPECT_EQ(x.momentum, y.momentum);
    EXPECT_EQ(x.in_features, y.in_features);
    EXPECT_EQ(x.out_features, y.out_features);
    EXPECT_EQ(x.output_shape, y.output_shape);
    EXPECT_EQ(x.parameter_count, y.parameter_count);
    EXPECT_EQ(x.buffer_count, y.buffer_count);
    EXPECT_TRUE(x.quant == y.quant);
  }
  const TrainConfig& t = a.train;
  const TrainConfig& u = b.train;
  EXPECT_EQ(t.epochs, u.epochs);
  EXPECT_EQ(t.batch_size, u.batch_size);
  EXPECT_EQ(t.test_batch_size, u.test_batch_size);
  EXPECT_EQ(t.optimizer, u.optimizer);
  EXPECT_EQ(t.lr, u.lr);
  EXPECT_EQ(t.momentum, u.momentum);
  EXPECT_EQ(t.weight_decay, u.weight_decay);
  EXPECT_EQ(t.nesterov, u.nesterov);
  EXPECT_EQ(t.seed, u.seed);
  EXPECT_EQ(t.beta1, u.beta1);
  EXPECT_EQ(t.beta2, u.beta2);
  EXPECT_EQ(t.eps, u.eps);
  const QuantConfig& q = a.quant;
  const QuantConfig& r = b.quant;
  EXPECT_EQ(q.bits, r.bits);
  EXPECT_EQ(q.observer, r.observer);
  EXPECT_EQ(q.per_channel, r.per_channel);
  EXPECT_EQ(q.symmetric, r.symmetric);
  EXPECT_EQ(q.is_signed, r.is_signed);
  EXPECT_EQ(q.ptq_batches, r.ptq_batches);
  EXPECT_EQ(q.qat_epochs, r.qat_epochs);
  EXPECT_EQ(q.qat_lr, r.qat_lr);
  EXPECT_EQ(q.qat_momentum, r.qat_momentum);
  EXPECT_EQ(q.ste, r.ste);
  EXPECT_EQ(q.observer_momentum, r.observer_momentum);
  EXPECT_EQ(q.percentile, r.percentile);
  EXPECT_TRUE(q == r) << "a quant setting did not survive the round trip (method, widths, recipe, freezing)";
  EXPECT_EQ(a.data.dataset, b.data.dataset);
  EXPECT_EQ(a.data.root, b.data.root);
}

TEST(ConfigJson, RoundTripsTheShippedConfigs) {
  for (const char* file : {"mnist_cnn.json", "mnist_cnn_bn.json", "fashion_cnn_bn.json"}) {
    SCOPED_TRACE(file);
    const ModelConfig config = load_config(shipped_config(file));
    expect_same_config(parse_config(config_to_json(config), "copy"), config);
  }
}

TEST(ConfigJson, RoundTripsNonDefaultSettingsOfEveryKind) {
  const ModelConfig config = parse_config_text(R"({
    "name": "everything", "description": "no default left",
    "input": {"shape": [1, 28, 28]},
    "layers": [
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 2, "dilation": 2, "bias": false},
      {"type": "batchnorm2d", "eps": 0.001, "momentum": 0.3},
      {"type": "relu"},
      {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
      {"type": "maxpool2d", "kernel_size": 2, "stride": 1},
      {"type": "conv2d", "out_channels": 4, "kernel_size": 1, "groups": 4},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10, "bias": false}
    ],
    "train": {"epochs": 2, "batch_size": 32, "test_batch_size": 100, "optimizer": "adam", "lr": 0.002, "momentum": 0.9,
              "weight_decay": 0.0001, "nesterov": true, "seed": 18446744073709551615, "beta1": 0.8, "beta2": 0.99,
              "eps": 1e-7},
    "data": {"dataset": "fashion-mnist", "root": "/tmp/fashion"},
    "quant": {"method": "tutorial", "bits": 4, "observer": "percentile", "per_channel": true, "symmetric": true,
              "signed": true, "ptq_batches": 7, "qat_epochs": 0, "qat_lr": 0.001, "qat_momentum": 0.9, "ste": "clipped",
              "observer_momentum": 0.5, "percentile": 99.9, "input_bits": 8, "first_layer_bits": 6,
              "last_layer_bits": 7, "qat_optimizer": "adam", "weight_decay": 0.001, "lr_schedule": "step",
              "warmup_epochs": 0.5, "lr_step_epochs": 3, "lr_gamma": 0.5, "freeze_observers_epoch": 2,
              "freeze_bn_epoch": null}
  })",
                                               "everything");
  EXPECT_EQ(config.train.seed, 18446744073709551615u);
  EXPECT_TRUE(config.quant.is_signed);
  expect_same_config(parse_config(config_to_json(config), "copy"), config);
}

TEST(ConfigJson, WritesEverySettingAndNoInferredSize) {
  const nlohmann::json document = config_to_json(load_config(shipped_config("mnist_cnn_bn.json")));
  EXPECT_EQ(document["train"].size(), 12u);
  // The quant section writes its method-independent settings and the choices the file made: the shipped
  // configs leave the method's choices to the method.
  EXPECT_EQ(document["quant"].size(), 9u);
  EXPECT_FALSE(document["quant"].contains("qat_lr"));
  EXPECT_EQ(document["layers"][3]["stride"], 2);
  EXPECT_FALSE(document["layers"][0].contains("in_channels"));
  EXPECT_FALSE(document["layers"][1].contains("num_features"));
  EXPECT_FALSE(document["layers"][9].contains("in_features"));
}

// max_pool2d, avg_pool2d and batch_norm2d (the functional's and the runtime's spelling) read as the kinds
// maxpool2d, avgpool2d and batchnorm2d, which is how they are written.
TEST(ConfigJson, OtherSpellingsReadAsTheirKindAndAreWrittenByItsName) {
  nlohmann::json document = testing::net_document();
  ModelConfig written_as_kinds = parse_config(document, "kinds");
  for (auto& layer : document["layers"]) {
    if (layer["type"] == "maxpool2d") layer["type"] = "max_pool2d";
  }
  document["layers"].insert(document["layers"].begin() + 1,
                            nlohmann::json::object({{"type", "batch_norm2d"}}));
  document["layers"].insert(document["layers"].begin() + 3,
                            nlohmann::json::object({{"type", "avg_pool2d"}, {"kernel_size", 1}}));
  const ModelConfig config = parse_config(document, "aliases");
  EXPECT_EQ(config.layers[1].kind, &layer_kind("batchnorm2d"));
  EXPECT_EQ(config.layers[3].kind, &layer_kind("avgpool2d"));
  EXPECT_EQ(config.layers[4].kind, &layer_kind("maxpool2d"));
  const nlohmann::json json = config_to_json(config);
  EXPECT_EQ(json["layers"][1]["type"], "batchnorm2d");
  EXPECT_EQ(json["layers"][3]["type"], "avgpool2d");
  EXPECT_EQ(json["layers"][4]["type"], "maxpool2d");
  // Apart from the two layers added, the same model as the one written with the kinds' names.
  ModelConfig without_added = config;
  without_added.layers.erase(without_added.layers.begin() + 3);
  without_added.layers.erase(without_added.layers.begin() + 1);
  without_added = revalidate(without_added);
  expect_same_config(without_added, written_as_kinds);
}

TEST(ConfigJson, RevalidateCarriesAChangedWidthThroughTheModel) {
  ModelConfig config = load_config(shipped_config("mnist_cnn_bn.json"));
  config.layers[0].out_channels = 16;  // e.g. a command-line override
  const ModelConfig checked = revalidate(config);
  EXPECT_EQ(checked.layers[1].num_features, 16);
  EXPECT_EQ(checked.layers[4].in_channels, 16);
  EXPECT_EQ(checked.layers[0].parameter_count, 16 * 9 + 16);
  EXPECT_EQ(checked.layers[4].parameter_count, 40 * 16 * 9 + 40);
  EXPECT_EQ(checked.source, config.source);
}

TEST(ConfigJson, RevalidateRejectsBadOverridesWithTheFieldsPath) {
  ModelConfig config = load_config(shipped_config("mnist_cnn.json"));
  config.quant.bits = 12;
  try {
    revalidate(config);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.source(), shipped_config("mnist_cnn.json"));
    EXPECT_EQ(e.pointer(), "/quant/bits");
    EXPECT_EQ(e.detail(), "expected an integer in [1, 8], found 12");
  }
  config = load_config(shipped_config("mnist_cnn.json"));
  config.train.optimizer = "adamw";
  EXPECT_THROW(revalidate(config), ConfigError);
  config = load_config(shipped_config("mnist_cnn.json"));
  config.layers[3].groups = 7;
  EXPECT_THROW(revalidate(config), ConfigError);
}

}  // namespace
}  // namespace qg::config
