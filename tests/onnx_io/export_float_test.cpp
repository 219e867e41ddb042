// Float export (onnx_io/export_float.h), checked in a runtime quantgrad does not control: ONNX Runtime's
// logits for the exported graph equal quantgrad's float model's within 1e-4, for every layer kind, both
// reference configs, the ResNet and the depthwise-separable network. ONNX Runtime missing is a failure
// ("run scripts/get-ort"), never a skip.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "app/experiment.h"
#include "datasets/test_files.h"
#include "float_test_models.h"
#include "onnx_io/export_float.h"
#include "onnx_io/model_proto_file.h"
#include "onnx_io/onnx_runtime_process.h"

namespace qg::onnx_io {
namespace {

using namespace qg::onnx_io::testing;

TEST(FloatExport, OnnxRuntimeMatchesTheFloatModel) {
  std::string why;
  ASSERT_TRUE(onnx_runtime_available(&why)) << "ONNX Runtime is needed here (run scripts/get-ort): " << why;
  data::testing::TempDir dir;
  for (const config::ModelConfig& config : float_test_configs()) {
    SCOPED_TRACE(config.name);
    const std::shared_ptr<nn::Graph> model = random_model(config, 7);
    const std::string path = dir.file(config.name + ".onnx");
    export_float_model(config, *model, path);
    const Tensor input = random_input(config, 5, 11);
    const std::vector<float> expected = forward(*model, input);
    const std::vector<float> x = input.contiguous().to_vector();
    const OrtRun run = run_onnx_runtime(path, x, {input.shape().begin(), input.shape().end()}, {.batch = 2});
    const OrtOutput& logits = run.output("logits");
    EXPECT_EQ(logits.shape, (std::vector<int64_t>{5, 10}));
    const float diff = max_abs_diff(logits.floats(), expected);
    std::printf("  %-16s ONNX Runtime %s vs quantgrad float: max |diff| %.3g\n", config.name.c_str(),
                run.version.c_str(), diff);
    EXPECT_LE(diff, 1e-4f);
  }
}

TEST(FloatExport, FromATrainCheckpointAndCheckedByOnnx) {
  data::testing::TempDir dir;
  const config::ModelConfig config = float_test_configs()[3];  // mnist_cnn_bn
  const std::shared_ptr<nn::Graph> model = random_model(config, 3);
  const std::string ckpt = dir.file("net.ckpt");
  app::save_training_checkpoint(ckpt, *model, nullptr, {{"kind", "float"}, {"config", config.name}});
  export_float(config, ckpt, dir.file("net.onnx"));
  const onnx::ModelProto proto = read_model_proto(dir.file("net.onnx"));
  EXPECT_NO_THROW(check_model_proto(proto, "net.onnx"));
  EXPECT_EQ(proto.opset_import(0).version(), kExportOpset);
  std::vector<std::string> ops;
  for (const onnx::NodeProto& n : proto.graph().node())
    ops.push_back(n.op_type());
  EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "BatchNormalization", "Relu", "MaxPool", "Conv",
                                           "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"}));
  EXPECT_EQ(proto.graph().input(0).name(), "input");
  EXPECT_EQ(proto.graph().output(0).name(), "logits");
}

TEST(FloatExport, RefusesACheckpointOfAnotherConfig) {
  data::testing::TempDir dir;
  const std::vector<config::ModelConfig> configs = float_test_configs();
  const std::string ckpt = dir.file("net.ckpt");
  app::save_training_checkpoint(ckpt, *random_model(configs[2], 1), nullptr,
                                {{"kind", "float"}, {"config", configs[2].name}});
  EXPECT_THROW(export_float(configs[3], ckpt, dir.file("x.onnx")), nn::CheckpointError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.onnx")));
}

}  // namespace
}  // namespace qg::onnx_io
