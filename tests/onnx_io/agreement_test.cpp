// Both reference networks (configs/mnist_cnn.json, configs/mnist_cnn_bn.json), trained a few steps on the
// synthetic digits and quantized through the library as `ptq` does it, exported and run in ONNX Runtime: the
// predicted class agrees on >= 99.9 % of the images and no output code differs by more than 1.
#include <gtest/gtest.h>

#include "app/experiment.h"
#include "app/quantize_job.h"
#include "common/synthetic_digits.h"
#include "config/builder.h"
#include "datasets/synthetic_digits.h"
#include "datasets/test_files.h"
#include "onnx_io/export_integer.h"
#include "onnx_io/onnx_agreement.h"
#include "onnx_io/ort_test_support.h"
#include "runtime/random_models.h"

namespace qg::onnx_io {
namespace {

struct Reference {
  std::string config;
  int64_t bits;
  bool per_channel;
};

void PrintTo(const Reference& r, std::ostream* os) {
  *os << r.config << " " << r.bits << "-bit" << (r.per_channel ? " per channel" : "");
}

class ReferenceNetworks : public ::testing::TestWithParam<Reference> {};

TEST_P(ReferenceNetworks, OnnxRuntimeAgreesWithTheIntegerRuntime) {
  ASSERT_NO_FATAL_FAILURE(testing::require_onnx_runtime());
  const Reference& ref = GetParam();
  config::ModelConfig config =
      app::load_config_with(std::string(QG_SOURCE_DIR) + "/configs/" + ref.config + ".json", {});
  config.quant.bits = ref.bits;
  config.quant.ptq_batches = 8;
  config.quant.per_channel = ref.per_channel;
  Generator generator(config.train.seed);
  const std::shared_ptr<nn::Graph> net = config::build_model(config, generator);
  const qg::testing::SyntheticDigits digits(1024, 1);
  qg::testing::train_steps(*net, digits, 30);
  net->eval();
  const data::MnistDataset train = data::synthetic_digits(1024, 1);
  const data::MnistDataset test = data::synthetic_digits(1000, 2);
  const app::QuantOutcome q =
      app::quantize_model(config, *net, app::QuantMethod::Ptq, train, test, 0.0, /*quiet=*/true);
  ASSERT_GT(q.integer.accuracy, 0.8)
      << "the synthetic digits are easy: the quantized model must have learned";

  data::testing::TempDir dir;
  const std::string path = dir.file(ref.config + ".onnx");
  const IntegerExport exported = export_integer_model(q.model, path);
  const AgreementReport r = compare_with_onnx_runtime(q.model, path, test, -1, {.batch = 100, .threads = 2});
  std::printf("%s%s", export_summary_text(exported).c_str(), r.text().c_str());
  EXPECT_EQ(r.images, 1000);
  EXPECT_GE(r.argmax_agreement(), 0.999);
  EXPECT_EQ(r.codes_off_more, 0) << "largest difference " << r.max_code_difference;
  EXPECT_NEAR(r.ort_accuracy, r.quantgrad_accuracy, 0.002);
  EXPECT_DOUBLE_EQ(r.quantgrad_accuracy, q.integer.accuracy) << "quantgrad's side runs as qinfer runs";
}

INSTANTIATE_TEST_SUITE_P(Configs, ReferenceNetworks,
                         ::testing::Values(Reference{"mnist_cnn", 8, false},
                                           Reference{"mnist_cnn_bn", 8, false},
                                           Reference{"mnist_cnn", 8, true},
                                           Reference{"mnist_cnn_bn", 4, true}),
                         [](const ::testing::TestParamInfo<Reference>& info) {
                           return info.param.config + "_" + std::to_string(info.param.bits) + "bit" +
                                  (info.param.per_channel ? "_per_channel" : "");
                         });

// The check can fail: the export of one model compared with another model (the same layers, other weights)
// disagrees on most images, and codes differ by more than one.
TEST(Agreement, FailsForAModelThatIsNotTheExportedOne) {
  ASSERT_NO_FATAL_FAILURE(testing::require_onnx_runtime());
  std::mt19937 rng(11);
  const runtime::Model exported = runtime::testing::small_cnn(rng, {});
  const runtime::Model other = runtime::testing::small_cnn(rng, {});
  data::testing::TempDir dir;
  const std::string path = dir.file("m.onnx");
  export_integer_model(exported, path);
  const std::vector<uint8_t> pixels = testing::random_pixels(rng, exported, 300);
  const AgreementReport same = compare_with_onnx_runtime(exported, path, pixels, {});
  EXPECT_TRUE(same.passes(0.999)) << same.text();
  const AgreementReport r = compare_with_onnx_runtime(other, path, pixels, {});
  EXPECT_FALSE(r.passes(0.999)) << r.text();
  EXPECT_GT(r.codes_off_more, 0) << r.text();
}

TEST(Agreement, RefusesPixelsThatAreNotWholeSamplesAndAWrongLabelCount) {
  std::mt19937 rng(11);
  const runtime::Model model = runtime::testing::small_cnn(rng, {});
  const std::vector<uint8_t> pixels(2 * 9 * 9 * 2 + 1);
  EXPECT_THROW(compare_with_onnx_runtime(model, "unused.onnx", pixels, {}), std::invalid_argument);
  const std::vector<uint8_t> two(2 * 9 * 9 * 2);
  const std::vector<int64_t> labels{1};
  EXPECT_THROW(compare_with_onnx_runtime(model, "unused.onnx", two, labels), std::invalid_argument);
}

}  // namespace
}  // namespace qg::onnx_io
