// --train-limit and --test-limit (train, ptq, train_qat): a run on the first N images of a split gives
// exactly the run on a dataset that holds only those N images. scripts/results' canary figures rely on it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/tiny_run.h"
#include "tools/subprocess.h"

namespace qg::testing {
namespace {

SyntheticDigits first(SyntheticDigits digits, int64_t n) {
  digits.pixels.resize(static_cast<size_t>(n * SyntheticDigits::kPixels));
  digits.labels.resize(static_cast<size_t>(n));
  return digits;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Two data folders: `full` with 256 training and 64 test digits, `cut` with the first 96 and 20 of them.
struct TwoWorlds {
  TwoWorlds() {
    const SyntheticDigits train(256, 11), test(64, 12);
    write_mnist_split(train, full, "train");
    write_mnist_split(test, full, "t10k");
    write_mnist_split(first(train, 96), cut, "train");
    write_mnist_split(first(test, 20), cut, "t10k");
    TinyConfig config;
    config.epochs = 1;
    config.qat_epochs = 1;
    util::write_file_atomically(work.file("tiny.json"), tiny_config_json(config, full.path().string()));
  }
  // Runs `tool` with `args` on one data folder; returns its report.
  nlohmann::json run(const std::string& tool, const std::string& name, const data::testing::TempDir& data,
                     std::vector<std::string> args) {
    args.insert(args.end(), {"--config", work.file("tiny.json"), "--data", data.path().string(), "--threads",
                             "1", "--report", work.file(name + ".json")});
    const ProcessResult r = run_tool_process(tool, args, work.path().string(), work.file(name));
    EXPECT_TRUE(r.exited && r.exit_code == 0) << tool << " " << name << ": " << r.err;
    last_out = r.out;
    return read_json(work.file(name + ".json"));
  }
  data::testing::TempDir full, cut, work;
  std::string last_out;
};

const std::vector<std::string> kLimits{"--train-limit", "96", "--test-limit", "20"};

TEST(DataLimits, TrainOnTheFirstImagesIsTrainOnADatasetOfThem) {
  TwoWorlds w;
  std::vector<std::string> limited{"--out", w.work.file("limited.ckpt")};
  limited.insert(limited.end(), kLimits.begin(), kLimits.end());
  const nlohmann::json a = w.run("train", "limited", w.full, limited);
  const nlohmann::json b = w.run("train", "cut", w.cut, {"--out", w.work.file("cut.ckpt")});
  const nlohmann::json c = w.run("train", "whole", w.full, {"--out", w.work.file("whole.ckpt")});
  EXPECT_EQ(a["epoch_train_loss"], b["epoch_train_loss"]);
  EXPECT_EQ(a["test_loss"], b["test_loss"]);
  EXPECT_EQ(a["test_accuracy"], b["test_accuracy"]);
  EXPECT_NE(a["epoch_train_loss"], c["epoch_train_loss"]) << "the limit changed nothing";
  EXPECT_NE(a["test_loss"], c["test_loss"]) << "the limit changed nothing";
}

TEST(DataLimits, PtqAndTrainQatOnTheFirstImagesAreRunsOnADatasetOfThem) {
  TwoWorlds w;
  w.run("train", "float", w.full, {"--out", w.work.file("float.ckpt")});
  for (const std::string tool : {"ptq", "train_qat"}) {
    std::vector<std::string> limited{"--from", w.work.file("float.ckpt"), "--out",
                                     w.work.file(tool + "_a.qgm")};
    limited.insert(limited.end(), kLimits.begin(), kLimits.end());
    const nlohmann::json a = w.run(tool, tool + "_limited", w.full, limited);
    if (tool == "ptq") {
      EXPECT_NE(w.last_out.find("Calibrated on 96 images"), std::string::npos) << w.last_out;
    }
    const nlohmann::json b =
        w.run(tool, tool + "_cut", w.cut,
              {"--from", w.work.file("float.ckpt"), "--out", w.work.file(tool + "_b.qgm")});
    EXPECT_EQ(a["test_accuracy"], b["test_accuracy"]) << tool;
    EXPECT_EQ(a["fake_quant_test_accuracy"], b["fake_quant_test_accuracy"]) << tool;
    EXPECT_EQ(a["float_test_accuracy"], b["float_test_accuracy"]) << tool;
    EXPECT_EQ(a["qat_epoch_train_loss"], b["qat_epoch_train_loss"]) << tool;
    EXPECT_EQ(a["model_bytes"], b["model_bytes"]) << tool;
  }
}

TEST(DataLimits, ALimitBelowOneIsAUsageError) {
  TwoWorlds w;
  for (const std::string flag : {"--train-limit", "--test-limit"}) {
    const ProcessResult r = run_tool_process("train", {"--config", w.work.file("tiny.json"), flag, "0"},
                                             w.work.path().string(), w.work.file("zero"));
    EXPECT_TRUE(r.exited && r.exit_code != 0) << flag;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace qg::testing
