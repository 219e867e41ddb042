// Every way a config can be wrong gives a ConfigError naming the file, the JSON pointer and what was
// expected versus found. Each case is the valid Net config (config_test_helpers.h) with a JSON patch
// (RFC 6902) applied.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "config/loader.h"
#include "config/object_reader.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

using nlohmann::json;
using testing::expect_document_error;
using testing::net_document;

json patched(const char* patch) {
  return net_document().patch(json::parse(patch));
}

/// The full message, for the examples the docs quote.
std::string message_for(const char* patch) {
  try {
    parse_config(patched(patch), "x.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConfigErrors, TheBaseDocumentIsValid) {
  EXPECT_NO_THROW(parse_config(net_document(), "x.json"));
}

TEST(ConfigErrors, StringWhereAnIntegerIsExpected) {
  EXPECT_EQ(message_for(R"([{"op": "add", "path": "/layers/3/kernel_size", "value": "3"}])"),
            "x.json: /layers/3/kernel_size: expected a positive integer, found \"3\"");
}

TEST(ConfigErrors, UnknownLayerType) {
  EXPECT_EQ(
      message_for(R"([{"op": "add", "path": "/layers/2/type", "value": "conv3d"}])"),
      "x.json: /layers/2/type: unknown layer type \"conv3d\" (expected one of conv2d, maxpool2d, avgpool2d, "
      "relu, batchnorm2d, linear, flatten, relu6, global_avgpool, dropout, add, concat)");
}

TEST(ConfigErrors, LinearWithoutFlatten) {
  EXPECT_EQ(
      message_for(R"([{"op": "remove", "path": "/layers/6"}])"),
      "x.json: /layers/6: linear expects a 2-D input [N, features] but receives [N,40,5,5]; add a flatten "
      "layer before it");
}

TEST(ConfigErrors, EmptyConvolutionOutput) {
  // 28 -conv3-> 26 -pool2-> 13 -pool6-> 2, too small for a 3x3 kernel.
  EXPECT_EQ(message_for(
                R"([{"op": "add", "path": "/layers/3", "value": {"type": "maxpool2d", "kernel_size": 6}}])"),
            "x.json: /layers/4: conv2d output would be empty: input [N,40,2,2], kernel_size 3");
}

struct ErrorCase {
  const char* name;
  const char* patch;               // applied to net_document()
  const char* pointer;             // where the error must point
  std::vector<std::string> words;  // all must appear in the message
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name << ": " << c.patch;
}

class ConfigErrorTable : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTable, NamesThePathAndWhatWasWrong) {
  const ErrorCase& c = GetParam();
  const json document = patched(c.patch);
  testing::expect_config_error([&] { parse_config(document, "x.json"); }, c.pointer, c.words);
}

const ErrorCase kErrorCases[] = {
    // Shapes.
    {"EmptyOutputMentionsPaddingAndDilation",
     R"([{"op": "add", "path": "/layers/0/kernel_size", "value": 11}, {"op": "add", "path": "/layers/0/dilation", "value": 3},
         {"op": "add", "path": "/layers/0/padding", "value": 1}])",
     "/layers/0",
     {"conv2d output would be empty", "input [N,1,28,28], kernel_size 11, padding 1, dilation 3"}},
    {"EmptyPoolingOutput",
     R"([{"op": "add", "path": "/layers/5/kernel_size", "value": 12}])",
     "/layers/5",
     {"maxpool2d output would be empty: input [N,40,11,11], kernel_size 12"}},
    {"GroupsNotDividingInChannels",
     R"([{"op": "add", "path": "/layers/3/groups", "value": 3}])",
     "/layers/3/groups",
     {"groups 3 does not divide in_channels 40 (input [N,40,13,13])"}},
    {"GroupsNotDividingOutChannels",
     R"([{"op": "add", "path": "/layers/3/out_channels", "value": 30}])",
     "/layers/3/groups",
     {"groups 20 does not divide out_channels 30"}},
    {"InChannelsDisagree",
     R"([{"op": "add", "path": "/layers/3/in_channels", "value": 20}])",
     "/layers/3/in_channels",
     {"conv2d in_channels is 20 but its input [N,40,13,13] has 40 channels"}},
    {"InFeaturesDisagree",
     R"([{"op": "add", "path": "/layers/7/in_features", "value": 999}])",
     "/layers/7/in_features",
     {"linear in_features is 999 but its input [N,1000] has 1000 features"}},
    {"NumFeaturesDisagree",
     R"([{"op": "add", "path": "/layers/1", "value": {"type": "batchnorm2d", "num_features": 4}}])",
     "/layers/1/num_features",
     {"batchnorm2d num_features is 4", "has 40 channels"}},
    {"ConvAfterFlatten",
     R"([{"op": "add", "path": "/layers/7", "value": {"type": "conv2d", "out_channels": 1, "kernel_size": 1}}])",
     "/layers/7",
     {"conv2d expects a 4-D input [N, C, H, W] but receives [N,1000]"}},
    {"MaxPoolAfterFlatten",
     R"([{"op": "add", "path": "/layers/7", "value": {"type": "maxpool2d", "kernel_size": 1}}])",
     "/layers/7",
     {"maxpool2d expects a 4-D input"}},
    {"AvgPoolAfterFlatten",
     R"([{"op": "add", "path": "/layers/7", "value": {"type": "avgpool2d", "kernel_size": 1}}])",
     "/layers/7",
     {"avgpool2d expects a 4-D input"}},
    {"BatchNormAfterFlatten",
     R"([{"op": "add", "path": "/layers/7", "value": {"type": "batchnorm2d"}}])",
     "/layers/7",
     {"batchnorm2d expects a 4-D input"}},
    {"PoolPaddingOverHalfTheKernel",
     R"([{"op": "add", "path": "/layers/2/padding", "value": 2}])",
     "/layers/2/padding",
     {"maxpool2d padding 2 must be at most half of kernel_size 2"}},
    {"OutputNotTwoDimensional",
     R"([{"op": "remove", "path": "/layers/7"}, {"op": "remove", "path": "/layers/6"}])",
     "/layers",
     {"must output [N, classes]", "last layer (5, maxpool2d) outputs [N,40,5,5]"}},
    {"WrongNumberOfClasses",
     R"([{"op": "add", "path": "/layers/7/out_features", "value": 5}])",
     "/layers/7",
     {"the model outputs 5 classes but mnist has 10"}},
    {"InputShapeNotTheDatasets",
     R"([{"op": "replace", "path": "/input/shape/0", "value": 3}])",
     "/input/shape",
     {"mnist samples are [1,28,28] but the input shape is [3,28,28]"}},
    {"WeightTooLarge",
     R"([{"op": "add", "path": "/layers/7/out_features", "value": 2147483647}])",
     "/layers/7",
     {"linear weight would have more than 268435456 elements (2^28, the most the integer runtime"}},
    // Layouts that train but that the integer model cannot hold (issue 10, item 7): refused here, not by
    // ptq or train_qat after the training. A per-sample activation of 2^28 + 1 values (trainable in batches
    // of one), and window sizes beyond the runtime's 2^30.
    {"ActivationBeyondTheRuntimesLimit",
     R"([{"op": "replace", "path": "/layers/0/out_channels", "value": 397113},
         {"op": "replace", "path": "/layers/3/groups", "value": 1}])",
     "/layers/0",
     {"conv2d output would have more than 268435456 elements (2^28, the most the integer runtime of ptq and "
      "train_qat takes for one tensor)"}},
    {"ConvStrideBeyondTheRuntimesLimit",
     R"([{"op": "replace", "path": "/layers/0/stride", "value": 1073741825}])",
     "/layers/0/stride",
     {"stride 1073741825 is more than 2^30 = 1073741824, the largest window size the integer model of ptq "
      "and train_qat takes"}},
    {"ConvDilationBeyondTheRuntimesLimit",
     R"([{"op": "replace", "path": "/layers/0/kernel_size", "value": 1},
         {"op": "add", "path": "/layers/0/dilation", "value": 2147483647}])",
     "/layers/0/dilation",
     {"dilation 2147483647 is more than 2^30"}},
    {"PoolStrideBeyondTheRuntimesLimit",
     R"([{"op": "replace", "path": "/layers/2/stride", "value": 2147483647}])",
     "/layers/2/stride",
     {"stride 2147483647 is more than 2^30"}},

    // Integers.
    {"FloatForInteger",
     R"([{"op": "add", "path": "/layers/0/kernel_size", "value": 3.5}])",
     "/layers/0/kernel_size",
     {"expected a positive integer, found 3.5"}},
    {"WholeFloatForInteger",
     R"([{"op": "add", "path": "/layers/0/kernel_size", "value": 3.0}])",
     "/layers/0/kernel_size",
     {"expected a positive integer, found 3.0"}},
    {"BoolForInteger",
     R"([{"op": "add", "path": "/layers/0/stride", "value": true}])",
     "/layers/0/stride",
     {"expected a positive integer, found true"}},
    {"NegativePadding",
     R"([{"op": "add", "path": "/layers/0/padding", "value": -1}])",
     "/layers/0/padding",
     {"expected a non-negative integer, found -1"}},
    {"ZeroChannels",
     R"([{"op": "add", "path": "/layers/0/out_channels", "value": 0}])",
     "/layers/0/out_channels",
     {"expected a positive integer, found 0"}},
    {"NegativeEpochs",
     R"([{"op": "add", "path": "/train", "value": {"epochs": -2}}])",
     "/train/epochs",
     {"expected a non-negative integer, found -2"}},
    {"NegativeSeed",
     R"([{"op": "add", "path": "/train", "value": {"seed": -1}}])",
     "/train/seed",
     {"expected a non-negative integer, found -1"}},
    {"HugeInteger",
     R"([{"op": "add", "path": "/layers/0/out_channels", "value": 1099511627776}])",
     "/layers/0/out_channels",
     {"expected a positive integer, found 1099511627776 (too large)"}},
    {"IntegerBeyondInt64",
     R"([{"op": "add", "path": "/layers/0/out_channels", "value": 18446744073709551615}])",
     "/layers/0/out_channels",
     {"too large"}},
    {"InputShapeEntry",
     R"([{"op": "replace", "path": "/input/shape/1", "value": 0}])",
     "/input/shape/1",
     {"expected a positive integer, found 0"}},
    {"BitsTooMany",
     R"([{"op": "add", "path": "/quant", "value": {"bits": 9}}])",
     "/quant/bits",
     {"expected an integer in [1, 8], found 9"}},
    {"BitsZero",
     R"([{"op": "add", "path": "/quant", "value": {"bits": 0}}])",
     "/quant/bits",
     {"expected an integer in [1, 8], found 0"}},

    // Reals, choices, booleans, strings.
    {"ZeroLearningRate",
     R"([{"op": "add", "path": "/train", "value": {"lr": 0}}])",
     "/train/lr",
     {"expected a positive number, found 0"}},
    {"StringLearningRate",
     R"([{"op": "add", "path": "/train", "value": {"lr": "0.1"}}])",
     "/train/lr",
     {"expected a positive number, found \"0.1\""}},
    {"MomentumOne",
     R"([{"op": "add", "path": "/train", "value": {"momentum": 1.0}}])",
     "/train/momentum",
     {"expected a number in [0, 1), found 1.0"}},
    {"NegativeWeightDecay",
     R"([{"op": "add", "path": "/train", "value": {"weight_decay": -0.1}}])",
     "/train/weight_decay",
     {"expected a non-negative number, found -0.1"}},
    {"PercentileOver100",
     R"([{"op": "add", "path": "/quant", "value": {"percentile": 150}}])",
     "/quant/percentile",
     {"expected a number in (50, 100], found 150"}},
    // The percentile observer keeps [100 - p, p]: p <= 50 used to pass here and fail in the observer, after
    // a whole float training (issue 10, item 6).
    {"PercentileAtMost50",
     R"([{"op": "add", "path": "/quant", "value": {"percentile": 50}}])",
     "/quant/percentile",
     {"expected a number in (50, 100], found 50"}},
    {"UnknownQatMethod",
     R"([{"op": "add", "path": "/quant", "value": {"method": "dorefa"}}])",
     "/quant/method",
     {"tutorial", "ema", "lsq", "binary"}},
    {"LayerQuantBitsTwice",
     R"([{"op": "add", "path": "/layers/0/quant", "value": {"bits": 8, "weight_bits": 4}}])",
     "/layers/0/quant/bits",
     {"either bits (both) or weight_bits/activation_bits"}},
    {"LayerQuantOnARelu",
     R"([{"op": "add", "path": "/layers/1/quant", "value": {"bits": 8}}])",
     "/layers/1/quant",
     {"unknown key for relu"}},
    {"SignedOneBitTutorialActivations",
     R"([{"op": "add", "path": "/quant", "value": {"method": "tutorial", "bits": 1, "signed": true}}])",
     "/quant",
     {"signed 1-bit", "binary"}},
    {"ObserverMomentumZero",
     R"([{"op": "add", "path": "/quant", "value": {"observer_momentum": 0}}])",
     "/quant/observer_momentum",
     {"expected a number in (0, 1], found 0"}},
    {"BatchNormEpsZero",
     R"([{"op": "add", "path": "/layers/1", "value": {"type": "batchnorm2d", "eps": 0}}])",
     "/layers/1/eps",
     {"expected a positive number, found 0"}},
    {"UnknownOptimizer",
     R"([{"op": "add", "path": "/train", "value": {"optimizer": "rmsprop"}}])",
     "/train/optimizer",
     {"expected one of sgd, adam, found \"rmsprop\""}},
    {"UnknownObserver",
     R"([{"op": "add", "path": "/quant", "value": {"observer": "max"}}])",
     "/quant/observer",
     {"expected one of minmax, moving_average_minmax, percentile, histogram, found \"max\""}},
    {"UnknownSte",
     R"([{"op": "add", "path": "/quant", "value": {"ste": "straight"}}])",
     "/quant/ste",
     {"expected one of identity, clipped, found \"straight\""}},
    {"UnknownDataset",
     R"([{"op": "add", "path": "/data", "value": {"dataset": "cifar10"}}])",
     "/data/dataset",
     {"expected one of mnist, fashion-mnist, found \"cifar10\""}},
    {"IntegerForBool",
     R"([{"op": "add", "path": "/train", "value": {"nesterov": 1}}])",
     "/train/nesterov",
     {"expected true or false, found 1"}},
    {"StringForBool",
     R"([{"op": "add", "path": "/layers/7/bias", "value": "false"}])",
     "/layers/7/bias",
     {"expected true or false, found \"false\""}},
    {"NesterovWithoutMomentum",
     R"([{"op": "add", "path": "/train", "value": {"nesterov": true, "momentum": 0}}])",
     "/train/nesterov",
     {"nesterov needs a positive momentum"}},
    {"EmptyName",
     R"([{"op": "add", "path": "/name", "value": ""}])",
     "/name",
     {"expected a non-empty string, found \"\""}},
    {"RootNotAString",
     R"([{"op": "add", "path": "/data", "value": {"root": 1}}])",
     "/data/root",
     {"expected a string, found 1"}},

    // Structure.
    {"MissingName",
     R"([{"op": "remove", "path": "/name"}])",
     "/name",
     {"missing required key for the top level"}},
    {"MissingLayers", R"([{"op": "remove", "path": "/layers"}])", "/layers", {"missing required key"}},
    {"EmptyLayerList",
     R"([{"op": "add", "path": "/layers", "value": []}])",
     "/layers",
     {"expected a non-empty array of layers, found []"}},
    {"LayersNotAnArray",
     R"([{"op": "add", "path": "/layers", "value": {"type": "relu"}}])",
     "/layers",
     {"expected a non-empty array of layers, found an object"}},
    {"MissingRequiredLayerKey",
     R"([{"op": "remove", "path": "/layers/0/out_channels"}])",
     "/layers/0/out_channels",
     {"missing required key for conv2d (expected a positive integer)"}},
    {"MissingLayerType",
     R"([{"op": "add", "path": "/layers/1", "value": {}}])",
     "/layers/1/type",
     {"missing layer type (expected one of conv2d"}},
    {"LayerTypeNotAString",
     R"([{"op": "add", "path": "/layers/1/type", "value": 3}])",
     "/layers/1/type",
     {"expected one of conv2d", "found 3"}},
    {"LayerNotAnObject",
     R"([{"op": "add", "path": "/layers/1", "value": "relu"}])",
     "/layers/1",
     {"expected a layer object such as {\"type\": \"relu\"}, found \"relu\""}},
    {"SectionNotAnObject",
     R"([{"op": "add", "path": "/train", "value": []}])",
     "/train",
     {"expected an object for train, found []"}},
    {"InputNotAnObject",
     R"([{"op": "add", "path": "/input", "value": [1, 28, 28]}])",
     "/input",
     {"expected an object for input, found [1,28,28]"}},
    {"InputShapeWrongRank",
     R"([{"op": "remove", "path": "/input/shape/0"}])",
     "/input/shape",
     {"expected [C, H, W] (3 positive integers), found [28,28]"}},

    // Unknown keys.
    {"MisspeltLayerKey",
     R"([{"op": "add", "path": "/layers/0/kernal_size", "value": 3}])",
     "/layers/0/kernal_size",
     {"unknown key for conv2d (did you mean \"kernel_size\"?); expected one of type, name, inputs, "
      "out_channels, kernel_size"}},
    {"MisspeltSection",
     R"([{"op": "add", "path": "/trian", "value": {}}])",
     "/trian",
     {"unknown key for the top level (did you mean \"train\"?)"}},
    {"UnknownSetting",
     R"([{"op": "add", "path": "/train", "value": {"learning_rate": 0.1}}])",
     "/train/learning_rate",
     {"unknown key for train; expected one of epochs, batch_size", "lr"}},
    {"MisspeltQuantKey",
     R"([{"op": "add", "path": "/quant", "value": {"sign": true}}])",
     "/quant/sign",
     {"did you mean \"signed\"?"}},
    {"UnknownInputKey",
     R"([{"op": "add", "path": "/input/dtype", "value": "float"}])",
     "/input/dtype",
     {"unknown key for input"}},
    {"KeyOfAnotherLayerType",
     R"([{"op": "add", "path": "/layers/1/kernel_size", "value": 2}])",
     "/layers/1/kernel_size",
     {"unknown key for relu; expected one of type"}},
    {"ConvKeyOnPool",
     R"([{"op": "add", "path": "/layers/2/groups", "value": 2}])",
     "/layers/2/groups",
     {"unknown key for maxpool2d"}},
    {"KeyNeedingPointerEscapes",
     R"([{"op": "add", "path": "/data", "value": {"a/b~c": 1}}])",
     "/data/a~1b~0c",
     {"unknown key for data"}},
};

INSTANTIATE_TEST_SUITE_P(Cases, ConfigErrorTable, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(ConfigErrors, TopLevelMustBeAnObject) {
  expect_document_error(json::array({1, 2}), "", {"expected a JSON object at the top level, found [1,2]"});
  testing::expect_text_error("\"net\"", "", {"expected a JSON object at the top level, found \"net\""});
}

TEST(ConfigErrors, MissingFileNamesThePath) {
  const std::string path = std::string(QG_SOURCE_DIR) + "/configs/does_not_exist.json";
  try {
    load_config(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.source(), path);
    EXPECT_EQ(e.pointer(), "");
    EXPECT_EQ(std::string(e.what()), path + ": cannot open the config file (No such file or directory)");
  }
}

TEST(ConfigErrors, DirectoryIsNotAConfig) {
  const std::string path = std::string(QG_SOURCE_DIR) + "/configs";
  try {
    load_config(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": is a directory, not a config file");
  }
}

TEST(ConfigErrors, FileErrorsArePrefixedWithThePath) {
  const std::string path = ::testing::TempDir() + "qg_config_bad_kernel.json";
  {
    std::ofstream out(path);
    out << patched(R"([{"op": "add", "path": "/layers/3/kernel_size", "value": "3"}])").dump(2);
  }
  try {
    load_config(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": /layers/3/kernel_size: expected a positive integer, found \"3\"");
  }
  std::remove(path.c_str());
}

TEST(ConfigErrors, FoundValuesAreShortAndNeverRecursive) {
  EXPECT_EQ(describe_found(json::parse("[1, 2]")), "[1,2]");
  EXPECT_EQ(describe_found(json::parse("[[1], 2]")), "an array of 2 elements");
  EXPECT_EQ(describe_found(json::parse("{\"a\": 1}")), "an object");
  EXPECT_EQ(describe_found(json::object()), "{}");
  EXPECT_EQ(describe_found(json(std::string(100, 'a'))), "\"" + std::string(59, 'a') + "...");
}

}  // namespace
}  // namespace qg::config
