// qexport as a process (QG_TOOLS_DIR): it writes a valid ONNX file, `--check` passes on a good model and
// writes its report, and it refuses a bad command with one line: --out equal to --model, a missing or corrupt
// model (the loader's message), an unwritable output. The same for --float (a config and its checkpoint),
// whose check is also shown to fail against another model's export.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "app/experiment.h"
#include "app/tiny_run.h"
#include "config/builder.h"
#include "config/loader.h"
#include "core/random.h"
#include "onnx_io/export_float.h"
#include "onnx_io/float_agreement.h"
#include "onnx_io/model_proto_file.h"
#include "onnx_io/ort_test_support.h"
#include "runtime/model_file.h"
#include "runtime/random_models.h"
#include "tools/subprocess.h"
#include "util/atomic_file.h"

namespace qg::onnx_io {
namespace {

using namespace runtime;
using namespace runtime::testing;
using data::testing::TempDir;
using qg::testing::run_tool_process;

// A [1, 28, 28] classifier with MNIST's normalisation and input grid: conv (fused ReLU) -> max pool ->
// flatten -> linear(10). Random weights: what matters here is that both runtimes compute the same.
Model mnist_like_model() {
  std::mt19937 rng(5);
  Model m;
  m.input.shape = {1, 28, 28};
  m.input.quant = QuantParams{1.0 / (255 * 0.3081), 33, 8, false};
  m.input.mean = {0.1307};
  m.input.stddev = {0.3081};
  LayerBits b;
  b.fused_relu = true;
  m.add(random_conv(rng, m.input.quant, 1, 4, 1, window(3), b));
  m.add(MaxPool2d{window(2, 2)});
  m.add(Flatten{});
  m.add(random_linear(rng, m.output.quant, 4 * 13 * 13, 10, {}));
  m.metadata = {{"config", "mnist_like"}, {"dataset", "mnist"}};
  return m;
}

class Qexport : public ::testing::Test {
 protected:
  void SetUp() override {
    save_model(mnist_like_model(), model_path());
    qg::testing::write_mnist_split(qg::testing::SyntheticDigits(300, 4), data_, "t10k");
  }
  std::string model_path() const { return work_.file("m.qgm"); }
  qg::testing::ProcessResult run(const std::vector<std::string>& args) {
    return run_tool_process("qexport", args, work_.path().string(), work_.file("capture"));
  }
  static size_t lines(const std::string& text) {
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }

  TempDir work_, data_;
};

TEST_F(Qexport, WritesAFileTheCheckerAccepts) {
  const std::string out = work_.file("m.onnx");
  const auto r = run({"--model", model_path(), "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("op 0 conv2d        -> QLinearConv"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("op 3 linear        -> Reshape, QLinearConv, Flatten"), std::string::npos) << r.out;
  EXPECT_NO_THROW(check_model_proto(read_model_proto(out), out));
}

TEST_F(Qexport, CheckPassesOnAGoodModelAndWritesItsReport) {
  ASSERT_NO_FATAL_FAILURE(testing::require_onnx_runtime());
  const std::string out = work_.file("m.onnx"), report = work_.file("report.json");
  const auto r = run({"--model", model_path(), "--out", out, "--check", "--data", data_.path().string(),
                      "--test-limit", "200", "--batch-size", "64", "--threads", "2", "--report", report});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("Check passed"), std::string::npos) << r.out;
  const nlohmann::json j = nlohmann::json::parse(util::read_file(report));
  EXPECT_EQ(j["check"]["images"], 200);
  EXPECT_EQ(j["check"]["passed"], true);
  EXPECT_EQ(j["check"]["codes_off_more"], 0);
  EXPECT_GE(j["check"]["argmax_agreement"].get<double>(), 0.999);
  EXPECT_EQ(j["check"]["codes"], 2000);
}

TEST_F(Qexport, RefusesOutEqualToModel) {
  const auto r = run({"--model", model_path(), "--out", model_path()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  EXPECT_EQ(load_model(model_path()).ops.size(), 4u) << "the model must be untouched";
}

TEST_F(Qexport, RefusesAMissingModel) {
  const std::string missing = work_.file("missing.qgm");
  const auto r = run({"--model", missing, "--out", work_.file("m.onnx")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(work_.file("m.onnx")));
}

TEST_F(Qexport, RefusesACorruptModelWithTheLoadersMessage) {
  const std::string corrupt = work_.file("corrupt.qgm");
  util::write_file_atomically(corrupt, "this is not a model file at all");
  const auto r = run({"--model", corrupt, "--out", work_.file("m.onnx")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("load_model: " + corrupt), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(work_.file("m.onnx")));
}

TEST_F(Qexport, RefusesAnUnwritableOutput) {
  const std::string out = work_.file("no-such-folder/m.onnx");
  const auto r = run({"--model", model_path(), "--out", out});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
}

TEST_F(Qexport, RefusesCheckFlagsWithoutCheck) {
  auto r = run({"--model", model_path(), "--out", work_.file("m.onnx"), "--test-limit", "5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--test-limit is for --check"), std::string::npos) << r.err;
}

// --float: a config and a float checkpoint (random weights, as train would save them) out as plain ONNX.
class QexportFloat : public ::testing::Test {
 protected:
  void SetUp() override {
    const config::ModelConfig config = config::load_config(world_.config_path());
    save_checkpoint(config, 7, world_.file("tiny.ckpt"));
  }
  static void save_checkpoint(const config::ModelConfig& config, uint64_t seed, const std::string& path) {
    Generator gen(seed);
    const std::shared_ptr<nn::Graph> model = config::build_model(config, gen);
    app::save_training_checkpoint(path, *model, nullptr, {{"kind", "float"}, {"config", config.name}});
  }
  qg::testing::ProcessResult run(const std::vector<std::string>& args) {
    return run_tool_process("qexport", args, world_.work.path().string(), world_.file("capture"));
  }

  qg::testing::TinyWorld world_;
};

TEST_F(QexportFloat, ExportsAndChecksTheFloatModel) {
  ASSERT_NO_FATAL_FAILURE(testing::require_onnx_runtime());
  const std::string out = world_.file("tiny.onnx"), report = world_.file("report.json");
  const auto r = run({"--float", "--config", world_.config_path(), "--from", world_.file("tiny.ckpt"),
                      "--out", out, "--check", "--report", report});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("Check passed"), std::string::npos) << r.out;
  EXPECT_NO_THROW(check_model_proto(read_model_proto(out), out));
  const nlohmann::json j = nlohmann::json::parse(util::read_file(report));
  EXPECT_EQ(j["check"]["images"], 64);
  EXPECT_EQ(j["check"]["passed"], true);
  EXPECT_LE(j["check"]["max_abs_difference"].get<double>(), 1e-4);
  EXPECT_EQ(j["check"]["argmax_equal"], 64);
}

TEST_F(QexportFloat, TheCheckFailsAgainstAnotherModelsExport) {
  ASSERT_NO_FATAL_FAILURE(testing::require_onnx_runtime());
  // Export the float model of one set of weights, then compare another set with it: the check must see it.
  const config::ModelConfig config = config::load_config(world_.config_path());
  Generator gen_a(7), gen_b(8);
  const std::shared_ptr<nn::Graph> a = config::build_model(config, gen_a),
                                   b = config::build_model(config, gen_b);
  export_float_model(config, *a, world_.file("a.onnx"));
  const data::MnistDataset test(data::DatasetKind::kMnist, data::Split::kTest, world_.data.path().string());
  const FloatAgreementReport same = compare_float_with_onnx_runtime(*a, world_.file("a.onnx"), test, 32);
  const FloatAgreementReport other = compare_float_with_onnx_runtime(*b, world_.file("a.onnx"), test, 32);
  EXPECT_EQ(same.images, 32);
  EXPECT_TRUE(same.passes(1e-4)) << same.max_abs_difference;
  EXPECT_FALSE(other.passes(1e-4)) << other.max_abs_difference;
}

TEST_F(QexportFloat, RefusesMissingFlagsAndAMismatchedCheckpoint) {
  auto r = run({"--float", "--config", world_.config_path(), "--out", world_.file("f.onnx")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--float needs --config C and --from CKPT"), std::string::npos) << r.err;

  config::ModelConfig other = config::load_config(world_.config_path());
  other.name = "another_model";
  save_checkpoint(other, 7, world_.file("other.ckpt"));
  r = run({"--float", "--config", world_.config_path(), "--from", world_.file("other.ckpt"), "--out",
           world_.file("f.onnx")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("another_model"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(world_.file("f.onnx")));

  r = run({"--float", "--config", world_.config_path(), "--from", world_.file("tiny.ckpt"), "--out",
           world_.file("tiny.ckpt")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qg::onnx_io
