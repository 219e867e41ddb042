// Data-parallel training with real processes (app/data_parallel.h): `mpirun -np N` of the built train and
// train_qat on tiny synthetic digits, compared with each other and with the plain single-process run of the
// same config, seed and threads. What must hold (issue 16):
//   - N = 1, 2 and 4 write the same bytes: every batch sum is split-invariant (core/batch_reduction.h), so
//     the checkpoints, the QAT observers and the integer models are identical whatever N is;
//   - they agree with the plain run (which keeps the faster default sums) within float summation tolerance;
//   - a given N gives the same bytes run after run;
//   - BatchNorm is SyncBatchNorm: a model with batch norm is as identical over N as one without;
//   - one writer; --resume with another N; a rank that dies or fails ends the whole job, no hang.
// The batch (30) and the training set (250 images) are chosen so that shards are unequal (30 over 4
// ranks: 7, 8, 7, 8) and the last batch is partial (10 images: 2, 3, 2, 3); the shards are still nodes of
// the halving tree over the batch (floor midpoints), so the sums agree bit for bit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/distributed.h"
#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "datasets/mnist.h"
#include "nn/checkpoint.h"
#include "runtime/model_file.h"
#include "tools/subprocess.h"
#include "util/atomic_file.h"

namespace qg::testing {
namespace {

namespace fs = std::filesystem;

// The tutorial's Net in small (without BatchNorm; kTinyCnnLayers has it).
const char* kTinyNetLayers = R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 2},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ])";

constexpr int64_t kTrainImages = 250;
constexpr int64_t kTestImages = 64;

TinyConfig tiny_net() {
  TinyConfig c;
  c.name = "tiny_net";
  c.layers = kTinyNetLayers;
  c.batch_size = 30;
  c.epochs = 2;
  c.qat_epochs = 1;
  return c;
}

// `mpirun -np <ranks>` of `tool` (ranks == 0: the tool alone, no mpirun), one thread per rank.
ProcessResult run_ranks(int ranks, const std::string& tool, std::vector<std::string> args,
                        const TinyWorld& world, const std::string& capture) {
  std::vector<std::string> argv;
  if (ranks > 0) {
    argv = {QG_MPIEXEC, "-np", std::to_string(ranks), "--oversubscribe"};
    if (::geteuid() == 0) argv.push_back("--allow-run-as-root");  // containers (CI) run as root
  }
  argv.push_back(tool_path(tool));
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--threads", "1"});
  ChildProcess child(argv, world.work.path().string(), world.file(capture));
  return child.wait(std::chrono::seconds(120));
}

// Trains the tiny Net with `ranks` processes into `<name>.ckpt` with a report `<name>.json`.
ProcessResult train(int ranks, const TinyWorld& world, const std::string& name,
                    std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--config", world.config_path(),       "--out", world.file(name + ".ckpt"),
                                "--report", world.file(name + ".json")};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_ranks(ranks, "train", args, world, name);
}

nlohmann::json report(const TinyWorld& world, const std::string& name) {
  return nlohmann::json::parse(util::read_file(world.file(name + ".json")));
}

// The largest |a - b| over the model tensors of two checkpoints (which must hold the same tensors), relative
// to the largest |a| of that tensor.
double max_relative_difference(const std::string& a_path, const std::string& b_path) {
  const nn::Checkpoint a = nn::load_checkpoint(a_path), b = nn::load_checkpoint(b_path);
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0.0;
  for (const auto& [name, ta] : a.tensors) {
    if (name.rfind("model.", 0) != 0) continue;
    const Tensor tb = b.find(name);
    EXPECT_TRUE(tb.defined()) << name;
    if (!tb.defined()) continue;
    const std::vector<float> va = ta.to_vector(), vb = tb.to_vector();
    double scale = 1e-12, diff = 0.0;
    for (size_t i = 0; i < va.size(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(va[i])));
      diff = std::max(diff, std::fabs(static_cast<double>(va[i]) - vb[i]));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

bool same_bytes(const std::string& a, const std::string& b) {
  return util::read_file(a) == util::read_file(b);
}

// Float summation tolerance after 18 SGD steps: the sums of N shards differ from one sum in their last bits
// (~1e-7 relative), and training carries such differences forward without blowing them up at this scale.
constexpr double kWeightTolerance = 1e-4;
constexpr double kLossTolerance = 1e-5;

// ---- the collectives, as ranks of one job ------------------------------------------------------------

// Runs inside each rank of `mpirun -np 3 test_distributed --gtest_filter=Collectives.*`.
void check_collectives_as_a_rank() {
  int argc = 0;
  char** argv = nullptr;
  app::distributed::MpiSession session(argc, argv, "test_distributed");
  const app::distributed::Communicator& comm = app::distributed::world();
  ASSERT_EQ(comm.size(), 3);
  // Values whose sum depends on the order: (1e8 + -1e8) + 1 = 1, but 1e8 + (-1e8 + 1) = 0 in float.
  const float terms[3] = {1e8f, -1e8f, 1.0f};
  std::vector<float> values(7), expected(7);  // 7 values: chunks of 2, 2, 3 over the ranks
  for (size_t i = 0; i < values.size(); ++i) {
    const float scale = static_cast<float>(i + 1);
    values[i] = terms[comm.rank()] * scale;
    // The halving tree over the ranks, as all_reduce_sum promises: S(0, 3) = r0 + (r1 + r2).
    expected[i] = terms[0] * scale + (terms[1] * scale + terms[2] * scale);
  }
  comm.all_reduce_sum(values);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(values[i], expected[i]) << "value " << i << " on rank " << comm.rank();
  EXPECT_EQ(values[0], 0.0f);  // not 1: the order was 0 + (1 + 2), not (0 + 1) + 2
  std::vector<double> doubles{static_cast<double>(comm.rank()) + 0.5};
  comm.all_reduce_sum(doubles);
  EXPECT_EQ(doubles[0], 4.5);
  std::vector<float> lo{static_cast<float>(comm.rank())}, hi{static_cast<float>(comm.rank())};
  comm.all_reduce_min(lo);
  comm.all_reduce_max(hi);
  EXPECT_EQ(lo[0], 0.0f);
  EXPECT_EQ(hi[0], 2.0f);
}

TEST(Collectives, SumInTreeOrderMinAndMaxOnThreeRanks) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr) return check_collectives_as_a_rank();
  const TinyWorld world;
  std::vector<std::string> argv{QG_MPIEXEC, "-np", "3", "--oversubscribe"};
  if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
  argv.insert(argv.end(), {fs::read_symlink("/proc/self/exe").string(), "--gtest_filter=Collectives.*"});
  ChildProcess child(argv, world.work.path().string(), world.file("collectives"));
  const ProcessResult r = child.wait(std::chrono::seconds(60));
  EXPECT_TRUE(r.exited && r.exit_code == 0) << r.out << r.err;
}

// ---- train -----------------------------------------------------------------------------------------

// The model tensors of two checkpoints are bit-identical (their metadata may differ: the number of ranks).
void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  const nn::Checkpoint a = nn::load_checkpoint(a_path), b = nn::load_checkpoint(b_path);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, ta] : a.tensors) {
    const Tensor tb = b.find(name);
    ASSERT_TRUE(tb.defined()) << name;
    const std::vector<float> va = ta.to_vector(), vb = tb.to_vector();
    ASSERT_EQ(va.size(), vb.size()) << name;
    EXPECT_EQ(std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)), 0)
        << name << " differs between " << a_path << " and " << b_path;
  }
}

// Trains `config` with one process (plain) and with 1, 2 and 4 ranks: the ranks' runs are bit-identical,
// and within float summation tolerance of the plain run. Returns the plain run's and the ranks' reports.
void expect_identical_over_ranks(const TinyConfig& config) {
  const TinyWorld world(config, kTrainImages, kTestImages);
  ASSERT_EQ(train(0, world, "plain").exit_code, 0);
  const nlohmann::json plain = report(world, "plain");
  for (const int ranks : {1, 2, 4}) {
    const std::string name = "np" + std::to_string(ranks);
    const ProcessResult r = train(ranks, world, name);
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.out << r.err;
    const nlohmann::json got = report(world, name);
    if (ranks > 1) {
      expect_same_tensors(world.file("np1.ckpt"), world.file(name + ".ckpt"));
      EXPECT_EQ(got["epoch_train_loss"], report(world, "np1")["epoch_train_loss"]) << ranks << " ranks";
      EXPECT_EQ(got["test_loss"], report(world, "np1")["test_loss"]) << ranks << " ranks";
    }
    for (size_t e = 0; e < 2; ++e) {
      EXPECT_NEAR(got["epoch_train_loss"][e].get<double>(), plain["epoch_train_loss"][e].get<double>(),
                  kLossTolerance)
          << ranks << " ranks, epoch " << e + 1;
    }
    const double diff = max_relative_difference(world.file("plain.ckpt"), world.file(name + ".ckpt"));
    EXPECT_LT(diff, kWeightTolerance) << ranks << " ranks";
    std::printf("%s, %d ranks: weights within %.3g (relative) of the plain run, epoch losses %.9f %.9f\n",
                config.name.c_str(), ranks, diff, got["epoch_train_loss"][0].get<double>(),
                got["epoch_train_loss"][1].get<double>());
  }
  // Rank 0 alone wrote: no stray temporary files of the other ranks.
  for (const auto& entry : fs::directory_iterator(world.work.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST(DataParallelTrain, OneTwoAndFourRanksWriteTheSameWeights) {
  expect_identical_over_ranks(tiny_net());
}

TEST(DataParallelTrain, SyncBatchNormModelIsTheSameOverRanksToo) {
  TinyConfig config = tiny_net();
  config.name = "tiny_cnn_bn";
  config.layers = kTinyCnnLayers;  // conv, BatchNorm, ReLU, ...
  expect_identical_over_ranks(config);
}

TEST(DataParallelTrain, SameRanksGiveTheSameBytesRunAfterRun) {
  const TinyWorld world(tiny_net(), kTrainImages, kTestImages);
  for (const std::string name : {"a", "b"})
    ASSERT_EQ(train(4, world, name).exit_code, 0) << name;
  EXPECT_TRUE(same_bytes(world.file("a.ckpt"), world.file("b.ckpt")));
  EXPECT_EQ(report(world, "a")["epoch_train_loss"], report(world, "b")["epoch_train_loss"]);
}

TEST(DataParallelTrain, ResumesWithAnotherNumberOfRanks) {
  const TinyWorld world(tiny_net(), kTrainImages, kTestImages);
  ASSERT_EQ(train(0, world, "plain").exit_code, 0);  // two epochs in one go
  ASSERT_EQ(train(2, world, "resumed", {"--epochs", "1"}).exit_code, 0);
  const ProcessResult r = run_ranks(4, "train",
                                    {"--config", world.config_path(), "--resume", world.file("resumed.ckpt"),
                                     "--report", world.file("resumed.json")},
                                    world, "resume4");
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Resumed from"), std::string::npos) << r.out;
  EXPECT_EQ(report(world, "resumed")["epochs"], 2);
  EXPECT_LT(max_relative_difference(world.file("plain.ckpt"), world.file("resumed.ckpt")), kWeightTolerance);
}

TEST(DataParallelTrain, ABatchTooSmallForTheRanksIsRefusedOnEveryRank) {
  TinyConfig config = tiny_net();
  config.batch_size = 3;
  const TinyWorld world(config, kTrainImages, kTestImages);
  const ProcessResult r = train(4, world, "small");
  EXPECT_FALSE(r.exited && r.exit_code == 0);
  EXPECT_NE(r.err.find("cannot give each of the 4 processes an image"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(world.file("small.ckpt")));
}

TEST(DataParallelTrain, ADivergingRunStopsEveryRankWithTheMessage) {
  TinyConfig config = tiny_net();
  config.lr = 1e30;  // blows the weights up within a few steps (as tests/app/divergence_test.cpp)
  const TinyWorld world(config, kTrainImages, kTestImages);
  const ProcessResult r = train(2, world, "diverged");
  ASSERT_TRUE(r.exited) << "the job hung";
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("training diverged at step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopping every rank of the job"), std::string::npos) << r.err;
}

TEST(DataParallelTrain, AKilledRankEndsTheJobAndLeavesTheLastCheckpointIntact) {
  TinyConfig config = tiny_net();
  config.name = "wide_mlp";
  config.layers = kWideMlpLayers;
  config.epochs = 100000;  // runs until killed
  const TinyWorld world(config, kTrainImages, kTestImages);
  // Rank 1 is killed (SIGKILL) 3 s after it started, in the middle of training; rank 0 saves every 5 steps.
  const std::string kill_rank_1 =
      "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then (sleep 3; kill -9 $$) & fi; exec \"$0\" \"$@\"";
  std::vector<std::string> argv{QG_MPIEXEC, "-np", "2", "--oversubscribe"};
  if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
  argv.insert(argv.end(), {"/bin/sh", "-c", kill_rank_1, tool_path("train"), "--config", world.config_path(),
                           "--out", world.file("killed.ckpt"), "--checkpoint-every", "5", "--threads", "1"});
  ChildProcess child(argv, world.work.path().string(), world.file("killed"));
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r = child.wait(std::chrono::seconds(60));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.exited) << "mpirun itself had to be killed after " << seconds << " s: the job hung";
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(seconds, 30.0);
  EXPECT_NE((r.out + r.err).find("signal 9"), std::string::npos) << r.out << r.err;  // mpirun says who died
  nn::Checkpoint last;
  ASSERT_NO_THROW(last = nn::load_checkpoint(world.file("killed.ckpt")));
  EXPECT_GT(last.metadata["progress"]["step"].get<int64_t>(), 0);
}

// ---- train_qat -----------------------------------------------------------------------------------------

// QAT from one float checkpoint with `ranks` processes: the QAT checkpoint <name>.qat.ckpt and the integer
// model <name>.qgm.
ProcessResult train_qat(int ranks, const TinyWorld& world, const std::string& name,
                        const std::string& method) {
  return run_ranks(ranks, "train_qat",
                   {"--config", world.config_path(), "--from", world.file("float.ckpt"), "--method", method,
                    "--checkpoint", world.file(name + ".qat.ckpt"), "--out", world.file(name + ".qgm")},
                   world, name);
}

class DataParallelQat : public ::testing::TestWithParam<std::string> {};

TEST_P(DataParallelQat, EveryNumberOfRanksWritesTheSameIntegerModel) {
  const std::string method = GetParam();  // tutorial: min/max observers; lsq: learned step sizes
  TinyConfig config = tiny_net();
  if (method == "tutorial") {  // with batch norm folded into the conv (QConvBNReLU, SyncBatchNorm)
    config.name = "tiny_cnn_bn";
    config.layers = kTinyCnnLayers;
  }
  const TinyWorld world(config, kTrainImages, kTestImages);
  ASSERT_EQ(train(0, world, "float").exit_code, 0);
  ASSERT_EQ(train_qat(0, world, "plain", method).exit_code, 0);
  for (const int ranks : {1, 2, 4}) {
    const std::string name = "np" + std::to_string(ranks);
    const ProcessResult r = train_qat(ranks, world, name, method);
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.out << r.err;
    if (ranks == 1) continue;
    EXPECT_TRUE(same_bytes(world.file("np1.qgm"), world.file(name + ".qgm"))) << ranks << " ranks";
    expect_same_tensors(world.file("np1.qat.ckpt"), world.file(name + ".qat.ckpt"));
    const nn::Checkpoint one = nn::load_checkpoint(world.file("np1.qat.ckpt"));
    const nn::Checkpoint many = nn::load_checkpoint(world.file(name + ".qat.ckpt"));
    EXPECT_EQ(one.metadata["observers"], many.metadata["observers"]) << ranks << " ranks";
  }
  // Against the plain run (the default, faster sums): the same model up to float rounding.
  EXPECT_LT(max_relative_difference(world.file("plain.qat.ckpt"), world.file("np2.qat.ckpt")),
            kWeightTolerance);
  const nn::Checkpoint plain = nn::load_checkpoint(world.file("plain.qat.ckpt"));
  const nn::Checkpoint two = nn::load_checkpoint(world.file("np2.qat.ckpt"));
  const nlohmann::json& observers = plain.metadata["observers"];
  ASSERT_FALSE(observers.empty());
  for (const auto& [point, state] : observers.items()) {
    const nlohmann::json& other = two.metadata["observers"][point];
    for (const char* key : {"min", "max"}) {
      if (!state.contains(key)) continue;
      EXPECT_NEAR(other[key].get<double>(), state[key].get<double>(),
                  1e-4 * (1.0 + std::fabs(state[key].get<double>())))
          << point << " " << key;
    }
  }
  // Its integer model: the same predictions on (nearly) every test image (a weight on a rounding boundary
  // may land one integer step apart).
  const runtime::Model a = runtime::load_model(world.file("plain.qgm"));
  const runtime::Model b = runtime::load_model(world.file("np2.qgm"));
  const data::MnistDataset test(data::DatasetKind::kMnist, data::Split::kTest, world.data.path().string());
  const app::IntegerEval ea = app::evaluate_integer(a, test, 64, 1),
                         eb = app::evaluate_integer(b, test, 64, 1);
  int64_t same = 0;
  for (size_t i = 0; i < ea.predictions.size(); ++i)
    same += ea.predictions[i] == eb.predictions[i];
  EXPECT_GE(same, static_cast<int64_t>(ea.predictions.size()) - 1);
}

INSTANTIATE_TEST_SUITE_P(Methods, DataParallelQat, ::testing::Values("tutorial", "lsq"));

}  // namespace
}  // namespace qg::testing
