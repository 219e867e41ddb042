// End to end, through the same code paths as the tools: a small generated MNIST-format dataset on disk
// (IDX files), a JSON config, `train` (run_train_job), `train_qat` and `ptq` (run_quant_job), the saved
// integer model file loaded back and run as `qinfer` runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/quantize_job.h"
#include "app/train_job.h"
#include "common/synthetic_digits.h"
#include "datasets/test_files.h"
#include "runtime/model_file.h"
#include "util/atomic_file.h"

namespace qg::app {
namespace {

using data::testing::TempDir;

// Writes `digits` as the four MNIST IDX files' train or test pair into `dir`.
void write_split(const qg::testing::SyntheticDigits& digits, const TempDir& dir, const std::string& prefix) {
  using namespace data::testing;
  const auto n = static_cast<uint32_t>(digits.size());
  write_idx_file(dir.file(prefix + "-images-idx3-ubyte"), idx_bytes(kImagesMagic, {n, 28, 28}, digits.pixels),
                 false);
  Bytes labels(digits.labels.begin(), digits.labels.end());
  write_idx_file(dir.file(prefix + "-labels-idx1-ubyte.gz"), idx_bytes(kLabelsMagic, {n}, labels), true);
}

// A smaller cousin of configs/mnist_cnn_bn.json: the same layer types, fewer channels.
std::string tiny_config(const std::string& data_root) {
  return R"({
    "name": "tiny_cnn_bn",
    "input": {"shape": [1, 28, 28]},
    "layers": [
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3},
      {"type": "batchnorm2d"},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "groups": 4},
      {"type": "relu"},
      {"type": "avgpool2d", "kernel_size": 2},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ],
    "train": {"epochs": 2, "batch_size": 32, "test_batch_size": 100, "lr": 0.05, "momentum": 0.5, "seed": 3},
    "data": {"dataset": "mnist", "root": ")" +
         data_root + R"("},
    "quant": {"bits": 8, "ptq_batches": 8, "qat_epochs": 1, "qat_lr": 0.01}
  })";
}

class Pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    write_split(qg::testing::SyntheticDigits(1024, 11), data_, "train");
    write_split(qg::testing::SyntheticDigits(300, 12), data_, "t10k");
    util::write_file_atomically(config_path(), tiny_config(data_.path().string()));
  }
  std::string config_path() const { return work_.file("tiny.json"); }

  TempDir data_, work_;
};

TEST_F(Pipeline, TrainThenQatThenPtqThenQinfer) {
  // train
  TrainJob train;
  train.config_path = config_path();
  train.out = work_.file("float.ckpt");
  train.report = work_.file("train.json");
  train.quiet = true;
  const TrainOutcome trained = run_train_job(train);
  EXPECT_EQ(trained.epochs, 2);
  EXPECT_GT(trained.test.accuracy, 0.95) << "the synthetic digits are easy; the loop must learn them";
  const nlohmann::json train_report = nlohmann::json::parse(util::read_file(*train.report));
  for (const char* key :
       {"test_accuracy", "test_loss", "epochs", "train_seconds", "images_per_second", "peak_rss_mb"}) {
    EXPECT_TRUE(train_report.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(train_report["test_accuracy"].get<double>(), trained.test.accuracy);

  // train_qat from the float checkpoint
  QuantJob qat;
  qat.method = QuantMethod::Qat;
  qat.config_path = config_path();
  qat.from = train.out;
  qat.bits = 6;
  qat.out = work_.file("qat.qgm");
  qat.report = work_.file("qat.json");
  qat.quiet = true;
  const QuantOutcome q = run_quant_job(qat);
  EXPECT_GT(q.integer.accuracy, 0.9);
  EXPECT_GE(q.agreement, 0.99);
  const nlohmann::json qat_report = nlohmann::json::parse(util::read_file(*qat.report));
  for (const char* key : {"bits", "float_test_accuracy", "fake_quant_test_accuracy", "test_accuracy",
                          "agreement", "train_seconds", "images_per_second", "model_bytes"}) {
    EXPECT_TRUE(qat_report.contains(key)) << key;
  }
  EXPECT_EQ(qat_report["bits"], 6);
  for (const char* key : {"float_test_accuracy", "fake_quant_test_accuracy", "test_accuracy", "agreement"}) {
    EXPECT_GE(qat_report[key].get<double>(), 0.0) << key;
    EXPECT_LE(qat_report[key].get<double>(), 1.0) << key;
  }
  EXPECT_EQ(qat_report["model_bytes"].get<int64_t>(),
            static_cast<int64_t>(std::filesystem::file_size(qat.out)));

  // qinfer: the saved file gives the same predictions as the model in memory
  const runtime::Model loaded = runtime::load_model(qat.out);
  const data::MnistDataset test(data::DatasetKind::kMnist, data::Split::kTest, data_.path().string());
  const IntegerEval again = evaluate_integer(loaded, test, 64, 2);
  EXPECT_EQ(again.predictions, q.integer.predictions);

  // ptq from the same float checkpoint
  QuantJob ptq = qat;
  ptq.method = QuantMethod::Ptq;
  ptq.bits = 8;
  ptq.out = work_.file("ptq.qgm");
  ptq.report = work_.file("ptq.json");
  const QuantOutcome p = run_quant_job(ptq);
  EXPECT_GT(p.integer.accuracy, 0.9);
  EXPECT_GE(p.agreement, 0.99);
  EXPECT_TRUE(std::filesystem::exists(ptq.out));
}

TEST_F(Pipeline, ResumeContinuesFromTheNextEpoch) {
  TrainJob first;
  first.config_path = config_path();
  first.overrides.epochs = 1;
  first.out = work_.file("run.ckpt");
  first.quiet = true;
  run_train_job(first);
  TrainJob resumed = first;
  resumed.overrides.epochs = 2;
  resumed.resume = first.out;
  const TrainOutcome r = run_train_job(resumed);
  EXPECT_EQ(r.epochs, 2);
  EXPECT_EQ(r.epoch_accuracy.size(), 1u) << "only epoch 2 should have run";
}

TEST_F(Pipeline, MissingDataSaysWhatToRun) {
  TrainJob job;
  job.config_path = config_path();
  job.overrides.data_root = work_.file("no-such-folder");
  job.out = work_.file("x.ckpt");
  try {
    run_train_job(job);
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/get-data"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(job.out));
}

}  // namespace
}  // namespace qg::app
