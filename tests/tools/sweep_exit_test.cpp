// The sweep tool as a process when runs fail (issue 10, item 8): it carries on, writes the table, CSV and
// plot with those runs marked, and says so with one line on stderr and exit code 3.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/tiny_run.h"
#include "app/train_job.h"
#include "tools/subprocess.h"

namespace qg::testing {
namespace {

TEST(SweepTool, FailedWidthsExitWith3AfterWritingEverything) {
  TinyConfig config;
  config.epochs = 1;
  config.qat_epochs = 1;
  // QAT blows the weights up at every width: the scales run away until no fixed-point multiplier fits them,
  // which training reports as a divergence; PTQ does not train.
  config.qat_lr = 1e6;
  TinyWorld world(config);
  app::TrainJob train;
  train.config_path = world.config_path();
  train.out = world.file("float.ckpt");
  train.quiet = true;
  app::run_train_job(train);

  data::testing::TempDir capture;
  const ProcessResult r = run_tool_process(
      "sweep",
      {"--config", world.config_path(), "--from", train.out, "--bits", "2,8", "--out-dir", "results"},
      world.work.path().string(), capture.file("sweep"));
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err.rfind(
                "sweep: error: 2 of 4 runs diverged or failed (first: QAT tutorial, 1 epoch at 2 bits, ", 0),
            0u)
      << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line";
  for (const char* extension : {".md", ".csv", ".svg"}) {
    EXPECT_TRUE(std::filesystem::exists(world.file(std::string("results/tiny_cnn_bn_sweep") + extension)))
        << extension;
  }
  const std::string csv = util::read_file(world.file("results/tiny_cnn_bn_sweep.csv"));
  EXPECT_NE(csv.find("\n2,ptq,tutorial,"), std::string::npos);
  EXPECT_NE(csv.find("\n8,ptq,tutorial,"), std::string::npos);
  for (const char* bits : {"\n2,qat,tutorial,", "\n8,qat,tutorial,"}) {
    const size_t line = csv.find(bits);
    ASSERT_NE(line, std::string::npos) << bits;
    EXPECT_NE(csv.find(",,,,diverged\n", line), std::string::npos) << csv;
  }
}

}  // namespace
}  // namespace qg::testing
