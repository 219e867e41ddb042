// qinfer's looks inside a model, run as a process: --describe prints the library's description of the model
// file and writes it as a --report; --explain derives elements of a per-channel fused-ReLU conv, a pool and a
// linear layer for a test image and for a PNG, agreeing with the runtime (exit 0, "equal"); --image reads a
// PNG, prints the preprocessing and classifies exactly the pixels the library makes of it. (The one-line
// errors of these flags are rows of tool_errors_test.cpp.)
#include <gtest/gtest.h>

#include <random>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "datasets/digit_images.h"
#include "datasets/mnist.h"
#include "runtime/describe.h"
#include "runtime/explain.h"
#include "runtime/model_file.h"
#include "runtime/random_models.h"
#include "runtime/run.h"
#include "tools/subprocess.h"

namespace qg::testing {
namespace {

// [1,28,28] -> conv(4, 3x3, per channel, fused ReLU) -> max pool 2 -> flatten -> linear(10), random codes.
runtime::Model look_inside_model() {
  std::mt19937 rng(1601);
  runtime::Model model;
  model.input.shape = {1, 28, 28};
  model.input.quant = runtime::testing::random_quant(rng, 8, false);
  model.input.mean = {0.1307};
  model.input.stddev = {0.3081};
  runtime::testing::LayerBits conv_bits{.per_channel = true, .fused_relu = true};
  model.add(
      runtime::testing::random_conv(rng, model.input.quant, 1, 4, 1, runtime::testing::window(3), conv_bits));
  model.add(runtime::MaxPool2d{runtime::testing::window(2, 2)});
  model.add(runtime::Flatten{});
  model.add(runtime::testing::random_linear(rng, model.output.quant, 4 * 13 * 13, 10, {}));
  model.metadata = {{"dataset", "mnist"}};
  return model;
}

class QinferLookInside : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::save_model(model, dir.file("m.qgm"));
    write_mnist_split(SyntheticDigits(8, 31), dir, "t10k");
    util::write_file_atomically(dir.file("digit.png"),
                                data::testing::png_bytes(data::testing::drawn_l(240, 20)));
  }

  ProcessResult qinfer(std::vector<std::string> args) {
    args.insert(args.begin(), {"--model", dir.file("m.qgm")});
    return run_tool_process("qinfer", args, dir.path().string(), capture.file("run"));
  }

  const runtime::Model model = look_inside_model();
  data::testing::TempDir dir, capture;
};

TEST_F(QinferLookInside, DescribePrintsTheModelFilesNumbersAndReportsThem) {
  const ProcessResult r = qinfer({"--describe", "--report", dir.file("describe.json")});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.err;
  const runtime::Model loaded = runtime::load_model(dir.file("m.qgm"));
  const std::vector<runtime::NodeDescription> nodes = runtime::describe_model(loaded);
  EXPECT_EQ(r.out, runtime::describe_text(loaded, nodes));
  const auto& conv = std::get<runtime::Conv2d>(model.ops[0]);
  for (const runtime::QuantizedMultiplier& m : conv.output_stage.multipliers)
    EXPECT_NE(r.out.find(std::to_string(m.multiplier)), std::string::npos) << m.multiplier;
  EXPECT_NE(r.out.find("(fused ReLU: clamp_min = Z_out)"), std::string::npos) << r.out;
  const nlohmann::json report = nlohmann::json::parse(util::read_file(dir.file("describe.json")));
  EXPECT_EQ(report["tool"], "qinfer");
  EXPECT_EQ(report["describe"], runtime::describe_json(loaded, nodes));
}

TEST_F(QinferLookInside, ExplainAgreesWithTheRuntimeOnATestImage) {
  const data::MnistDataset test(data::DatasetKind::kMnist, data::Split::kTest, dir.path().string());
  const runtime::IntTensor input = runtime::quantize_pixels(model, {test.image(3), 784});
  for (const std::string element : {"0:0,0,0", "0:3,12,7", "0:#500", "1:2,6,6", "3:0", "3:9"}) {
    const ProcessResult r = qinfer({"--explain", element, "--index", "3", "--data", dir.path().string(),
                                    "--report", dir.file("explain.json")});
    ASSERT_TRUE(r.exited && r.exit_code == 0) << element << ": " << r.err;
    EXPECT_NE(r.out.find("test image 3, label"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(": equal\n"), std::string::npos) << r.out;
    const nlohmann::json report = nlohmann::json::parse(util::read_file(dir.file("explain.json")));
    const nlohmann::json& e = report["explain"];
    EXPECT_TRUE(e["matches"].get<bool>());
    const runtime::IntTensor runtime_value =
        runtime::value_codes(model, input, e["op_index"].get<int64_t>() + 1, runtime::RequantMode::Integer);
    EXPECT_EQ(e["derived"].get<int32_t>(), runtime_value.data[e["flat"].get<size_t>()]) << element;
  }
}

TEST_F(QinferLookInside, ImagePngIsPreprocessedAndClassified) {
  const ProcessResult r = qinfer({"--image", dir.file("digit.png")});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.err;
  const data::ImageInput image = data::read_image_input(dir.file("digit.png"), 784);
  EXPECT_EQ(r.out.rfind(data::preprocessing_text(*image.preprocessing), 0), 0u) << r.out;
  const runtime::IntTensor logits = runtime::run(model, runtime::quantize_pixels(model, image.pixels));
  EXPECT_NE(r.out.find("predicted class: " + std::to_string(runtime::predict(logits)[0]) + "\n"),
            std::string::npos)
      << r.out;

  const ProcessResult e = qinfer({"--image", dir.file("digit.png"), "--explain", "3:4"});
  ASSERT_TRUE(e.exited && e.exit_code == 0) << e.err;
  EXPECT_NE(e.out.find("inverted"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("derived code " + std::to_string(logits.data[4]) + ", runtime code " +
                       std::to_string(logits.data[4]) + ": equal"),
            std::string::npos)
      << e.out;
}

TEST_F(QinferLookInside, RawBytesStillWork) {
  util::write_file_atomically(dir.file("digit.raw"), std::string(784, '\x30'));
  const ProcessResult r = qinfer({"--image", dir.file("digit.raw")});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.err;
  EXPECT_EQ(r.out.find("inverted"), std::string::npos) << r.out;  // no preprocessing
  EXPECT_EQ(r.out.rfind("class  integer logit  real value\n", 0), 0u) << r.out;
}

// --explain of a logit with --config and --from: the float model's logit printed beside the integer one, close
// to it (a per-channel PTQ model of a tiny float model trained one epoch on synthetic digits).
TEST(QinferFloatComparison, ALogitBesideTheFloatModels) {
  TinyWorld world;
  app::TrainJob train;
  train.config_path = world.config_path();
  train.overrides.epochs = 1;
  train.out = world.file("float.ckpt");
  train.quiet = true;
  app::run_train_job(train);
  app::QuantJob ptq;
  ptq.method = app::QuantMethod::Ptq;
  ptq.config_path = world.config_path();
  ptq.from = world.file("float.ckpt");
  ptq.per_channel = true;
  ptq.out = world.file("m.qgm");
  ptq.quiet = true;
  app::run_quant_job(ptq);
  const runtime::Model model = runtime::load_model(world.file("m.qgm"));
  const size_t last = model.ops.size() - 1;
  data::testing::TempDir capture;
  for (const int logit : {0, 4, 9}) {
    const ProcessResult r = run_tool_process(
        "qinfer",
        {"--model", world.file("m.qgm"), "--explain", std::to_string(last) + ":" + std::to_string(logit),
         "--index", "5", "--data", world.data.path().string(), "--config", world.config_path(), "--from",
         world.file("float.ckpt")},
        world.work.path().string(), capture.file("run"));
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.err;
    const std::string marker = "float model (--config, --from) at this output: ";
    const size_t at = r.out.find(marker);
    ASSERT_NE(at, std::string::npos) << r.out;
    const double float_value = std::stod(r.out.substr(at + marker.size()));
    const size_t real_at = r.out.find("the integer model's real value: ", at);
    ASSERT_NE(real_at, std::string::npos) << r.out;
    const double integer_value = std::stod(r.out.substr(real_at + 32));
    // Within a few output steps of each other: 8-bit PTQ of the same network.
    EXPECT_NEAR(integer_value, float_value, 4 * model.output.quant.scale) << r.out;
  }
  // Not the model output: the float model is not compared.
  const ProcessResult inner = run_tool_process(
      "qinfer",
      {"--model", world.file("m.qgm"), "--explain", "0:#0", "--index", "5", "--data",
       world.data.path().string(), "--config", world.config_path(), "--from", world.file("float.ckpt")},
      world.work.path().string(), capture.file("inner"));
  ASSERT_TRUE(inner.exited && inner.exit_code == 0) << inner.err;
  EXPECT_NE(
      inner.out.find("float model: compared at the model output (op " + std::to_string(last) + ") only"),
      std::string::npos)
      << inner.out;
}

}  // namespace
}  // namespace qg::testing
