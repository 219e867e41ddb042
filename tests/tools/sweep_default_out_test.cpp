// tools/sweep writes under runs/sweep unless told otherwise, never into docs/results (which holds the
// committed results of scripts/results), and its --help says so.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "app/tiny_run.h"
#include "tools/subprocess.h"

namespace qg::testing {
namespace {

namespace fs = std::filesystem;

TEST(SweepOutput, DefaultsToRunsSweepAndSaysSo) {
  TinyWorld world;
  const std::string cwd = world.work.path().string();
  const ProcessResult help = run_tool_process("sweep", {"--help"}, cwd, world.file("help"));
  EXPECT_NE(help.out.find("--out-dir DIR"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("(default runs/sweep)"), std::string::npos) << help.out;

  const ProcessResult train = run_tool_process(
      "train", {"--config", world.config_path(), "--epochs", "1", "--out", world.file("float.ckpt")}, cwd,
      world.file("train"));
  ASSERT_TRUE(train.exited && train.exit_code == 0) << train.err;
  const ProcessResult sweep =
      run_tool_process("sweep",
                       {"--config", world.config_path(), "--from", world.file("float.ckpt"), "--bits", "8",
                        "--methods", "ptq", "--threads", "1"},
                       cwd, world.file("sweep"));
  ASSERT_TRUE(sweep.exited && sweep.exit_code == 0) << sweep.err;
  const fs::path out = world.work.path() / "runs" / "sweep";
  ASSERT_TRUE(fs::is_directory(out));
  EXPECT_FALSE(fs::is_empty(out));
  EXPECT_FALSE(fs::exists(world.work.path() / "docs")) << "sweep wrote into docs/";
}

}  // namespace
}  // namespace qg::testing
