// Float import (onnx_io/import_float.h): models exported by torch.onnx.export (tests/fixtures/onnx/, written by
// tests/fixtures/make_onnx_fixtures.py) become a config and a checkpoint whose float model reproduces PyTorch's
// outputs; refused models name the node and op; export_float then import_float gives back the same layers and
// identical weights; qimport's files are what ptq takes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "app/experiment.h"
#include "app/tiny_run.h"
#include "config/config_json.h"
#include "float_test_models.h"
#include "onnx_io/export_float.h"
#include "onnx_io/import_float.h"
#include "onnx_io/onnx_error.h"
#include "tools/subprocess.h"

namespace qg::onnx_io {
namespace {

using namespace qg::onnx_io::testing;
using qg::testing::ProcessResult;
using qg::testing::run_tool_process;

std::string fixture(const std::string& name) {
  return std::string(QG_FIXTURES_DIR) + "/onnx/" + name;
}

nlohmann::json golden(const std::string& name) {
  std::ifstream in(fixture(name + ".json"));
  if (!in)
    throw std::runtime_error(fixture(name + ".json") +
                             ": cannot open (run tests/fixtures/make_onnx_fixtures.py)");
  return nlohmann::json::parse(in);
}

// The float model of an imported config, loaded from the checkpoint file exactly as ptq --from loads it.
std::shared_ptr<nn::Graph> load_imported(const ImportedModel& imported, const data::testing::TempDir& dir) {
  const std::string ckpt = dir.file(imported.config.name + ".ckpt");
  nn::save_checkpoint(ckpt, imported.checkpoint);
  const config::ModelConfig reread = config::parse_config(imported.config_json, "reread");
  Generator gen(reread.train.seed);
  std::shared_ptr<nn::Graph> model = config::build_model(reread, gen);
  app::load_training_checkpoint(ckpt, *model, reread.name);
  return model;
}

class TorchFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchFixture, ReproducesPyTorchsOutputs) {
  const nlohmann::json g = golden(GetParam());
  const ImportedModel imported = import_float(fixture(GetParam() + ".onnx"));
  EXPECT_EQ(imported.config.name, GetParam());
  EXPECT_EQ(imported.checkpoint.metadata["kind"], "float");
  EXPECT_EQ(imported.layers.size(), imported.config.layers.size());
  data::testing::TempDir dir;
  const std::shared_ptr<nn::Graph> model = load_imported(imported, dir);
  const Tensor input =
      Tensor::from_vector(g["input"]["data"].get<std::vector<float>>(), g["input"]["shape"].get<Shape>());
  const float diff = max_abs_diff(forward(*model, input), g["output"]["data"].get<std::vector<float>>());
  std::printf("  %-18s %zu layers, quantgrad vs PyTorch %s: max |diff| %.3g\n", GetParam().c_str(),
              imported.layers.size(), g["torch_version"].get<std::string>().c_str(), diff);
  EXPECT_LE(diff, 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(Onnx, TorchFixture,
                         ::testing::Values("net", "net_bn", "avgpool_padded", "global_pool_relu6", "residual",
                                           "branches", "matmuls"));

TEST(FloatImport, TheTutorialNetBecomesItsConfig) {
  const ImportedModel imported =
      import_float(fixture("net.onnx"), {.name = "tutorial_net", .dataset = "mnist"});
  std::vector<std::string> kinds;
  for (const ImportedLayer& l : imported.layers)
    kinds.push_back(l.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d",
                                             "flatten", "linear"}));
  EXPECT_EQ(imported.config.layers[3].groups, 20);
  EXPECT_EQ(imported.config.parameter_count(), 11170);
  EXPECT_TRUE(imported.config.is_chain());
  EXPECT_EQ(imported.config.name, "tutorial_net");
  EXPECT_EQ(imported.checkpoint.metadata["config"], "tutorial_net");
  EXPECT_NE(imported.layers[6].origin.find("(Reshape)"), std::string::npos);  // x.view(-1, 5*5*40)
}

TEST(FloatImport, GraphsKeepTheirShape) {
  const ImportedModel residual = import_float(fixture("residual.onnx"));
  EXPECT_FALSE(residual.config.is_chain());
  const config::LayerSpec& add = residual.config.layers[4];
  EXPECT_EQ(add.kind->name, "add");
  EXPECT_EQ(add.input_layers, (std::vector<int64_t>{3, 1}));
  const ImportedModel matmuls = import_float(fixture("matmuls.onnx"));
  EXPECT_NE(matmuls.layers[2].origin.find("(MatMul) + node 3"), std::string::npos)
      << matmuls.layers[2].origin;
  EXPECT_TRUE(matmuls.config.layers[2].bias);
  EXPECT_FALSE(matmuls.config.layers[4].bias);
}

TEST(FloatImport, RefusedFixturesNameTheNodeAndWhy) {
  try {
    import_float(fixture("refused_ceil_mode.onnx"));
    ADD_FAILURE() << "ceil_mode imported";
  } catch (const OnnxError& e) {
    EXPECT_STREQ(e.what(),
                 (fixture("refused_ceil_mode.onnx") +
                  ": node 0 \"/MaxPool\" (MaxPool): attribute ceil_mode = 1 is not supported (expected 0: "
                  "PyTorch's default ceil_mode=False)")
                     .c_str());
  }
  try {
    import_float(fixture("refused_sigmoid.onnx"));
    ADD_FAILURE() << "Sigmoid imported";
  } catch (const OnnxError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("refused_sigmoid.onnx: node 3 \"/Sigmoid\" (Sigmoid): op type Sigmoid is not supported"),
              std::string::npos)
        << m;
  }
}

// Layer by layer, what the config says, without the names and inputs (an import names only what it must).
nlohmann::json layers_without_names(const config::ModelConfig& c) {
  nlohmann::json layers = config::config_to_json(c)["layers"];
  nlohmann::json out = nlohmann::json::array();
  for (nlohmann::json& l : layers) {
    if (l["type"] == "dropout") continue;  // the identity at inference: not exported
    l.erase("name");
    l.erase("inputs");
    out.push_back(l);
  }
  return out;
}

TEST(FloatRoundTrip, ExportThenImportGivesTheSameLayersAndWeights) {
  data::testing::TempDir dir;
  for (const config::ModelConfig& config : float_test_configs()) {
    SCOPED_TRACE(config.name);
    const std::shared_ptr<nn::Graph> model = random_model(config, 5);
    const std::string path = dir.file(config.name + ".onnx");
    export_float_model(config, *model, path);
    const ImportedModel back = import_float(path, {.name = config.name, .dataset = config.data.dataset});
    EXPECT_EQ(layers_without_names(back.config), layers_without_names(config));
    // Weights: every tensor of the original, bit for bit, under the name of the same layer (a dropout dropped
    // on export shifts the indices after it, hence the map from kinds).
    std::vector<size_t> kept;
    for (size_t i = 0; i < config.layers.size(); ++i)
      if (config.layers[i].kind->name != "dropout") kept.push_back(i);
    std::map<std::string, Tensor> original;
    for (auto& [name, t] : model->state())
      original.emplace(name, t);
    size_t compared = 0;
    for (const auto& [name, t] : back.checkpoint.tensors) {
      if (!name.starts_with("model.")) continue;  // the optimizer's initial state
      const size_t dot = name.find('.', 6);
      const size_t index = std::stoul(name.substr(6, dot - 6));
      const std::string field = name.substr(dot + 1);
      if (field == "num_batches_tracked") continue;
      const Tensor& o = original.at(std::to_string(kept.at(index)) + "." + field);
      EXPECT_EQ(t.shape(), o.shape()) << name;
      EXPECT_EQ(t.contiguous().to_vector(), o.contiguous().to_vector()) << name;
      ++compared;
    }
    EXPECT_GT(compared, 0u);
    // The same graph: every layer reads the layers that correspond to its original's inputs.
    for (size_t j = 0; j < back.config.layers.size(); ++j) {
      std::vector<int64_t> expected;
      for (int64_t in : config.layers[kept[j]].input_layers) {
        while (in >= 0 && config.layers[static_cast<size_t>(in)].kind->name == "dropout")
          in = config.layers[static_cast<size_t>(in)].input_layers[0];
        expected.push_back(
            in < 0 ? in : std::find(kept.begin(), kept.end(), static_cast<size_t>(in)) - kept.begin());
      }
      EXPECT_EQ(back.config.layers[j].input_layers, expected) << "layer " << j;
    }
  }
}

// qimport as a process: its files are what ptq, train_qat --from and train --resume take (on a synthetic digit set), and it refuses to write over
// its input or to write both outputs to one file.
TEST(QimportTool, WritesAConfigAndCheckpointThatPtqTakes) {
  data::testing::TempDir data, work;
  qg::testing::write_mnist_split(qg::testing::SyntheticDigits(128, 3), data, "train");
  qg::testing::write_mnist_split(qg::testing::SyntheticDigits(40, 4), data, "t10k");
  const std::string config = work.file("net.json"), ckpt = work.file("net.ckpt");
  const ProcessResult imported = run_tool_process(
      "qimport",
      {"--onnx", fixture("net_bn.onnx"), "--out-config", config, "--out-ckpt", ckpt, "--name", "torch_bn"},
      work.path().string(), work.file("qimport"));
  ASSERT_TRUE(imported.exited && imported.exit_code == 0) << imported.err;
  EXPECT_NE(imported.out.find("layer 1 batchnorm2d <- node 1 \"/bn1/BatchNormalization\""), std::string::npos)
      << imported.out;
  const ProcessResult ptq = run_tool_process(
      "ptq",
      {"--config", config, "--from", ckpt, "--data", data.path().string(), "--bits", "8", "--batches", "1",
       "--test-limit", "40", "--threads", "1", "--out", work.file("net.qgm")},
      work.path().string(), work.file("ptq"));
  EXPECT_TRUE(ptq.exited && ptq.exit_code == 0) << ptq.err;
  EXPECT_TRUE(std::filesystem::exists(work.file("net.qgm")));
  const std::vector<std::string> tiny{
      "--data", data.path().string(), "--train-limit", "64", "--test-limit", "40", "--threads", "1"};
  std::vector<std::string> qat{"--config", config, "--from", ckpt,
                               "--epochs", "1",    "--out",  work.file("qat.qgm")};
  qat.insert(qat.end(), tiny.begin(), tiny.end());
  const ProcessResult train_qat =
      run_tool_process("train_qat", qat, work.path().string(), work.file("train_qat"));
  EXPECT_TRUE(train_qat.exited && train_qat.exit_code == 0) << train_qat.err;
  // train --resume: a run stopped before its first epoch, fine-tuning the imported weights.
  std::vector<std::string> train{"--config", config, "--resume", ckpt,
                                 "--epochs", "1",    "--out",    work.file("t.ckpt")};
  train.insert(train.end(), tiny.begin(), tiny.end());
  const ProcessResult resumed = run_tool_process("train", train, work.path().string(), work.file("train"));
  EXPECT_TRUE(resumed.exited && resumed.exit_code == 0) << resumed.err;
  EXPECT_NE(resumed.out.find("Resumed from"), std::string::npos) << resumed.out;
}

TEST(QimportTool, Refusals) {
  data::testing::TempDir work;
  const std::string onnx = work.file("net.onnx");
  std::filesystem::copy_file(fixture("net.onnx"), onnx);
  auto run = [&](std::vector<std::string> args) {
    return run_tool_process("qimport", args, work.path().string(), work.file("qimport"));
  };
  ProcessResult r = run({"--onnx", onnx, "--out-config", onnx, "--out-ckpt", work.file("c.ckpt")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out-config"), std::string::npos) << r.err;
  r = run({"--onnx", onnx, "--out-config", work.file("c"), "--out-ckpt", work.file("c")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run({"--onnx", onnx, "--out-config", work.file("c.json"), "--out-ckpt", work.file("c.ckpt"),
           "--dataset", "cifar"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run({"--onnx", fixture("refused_sigmoid.onnx"), "--out-config", work.file("c.json"), "--out-ckpt",
           work.file("c.ckpt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("(Sigmoid): op type Sigmoid is not supported"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(work.file("c.json")));
  EXPECT_FALSE(std::filesystem::exists(work.file("c.ckpt")));
  EXPECT_EQ(util::read_file(onnx), util::read_file(fixture("net.onnx")));
}

}  // namespace
}  // namespace qg::onnx_io
