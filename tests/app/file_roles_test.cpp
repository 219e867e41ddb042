// Outputs never overwrite inputs (issue 10, item 5). The tools' refusals, as processes, are rows of
// tests/tools/tool_errors_test.cpp; here: the sequence, the file identity rule, and the one exception
// (a resumed run writes the checkpoint it continues).
#include <gtest/gtest.h>

#include <filesystem>

#include "app/file_roles.h"
#include "app/flags.h"
#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "nn/checkpoint.h"

namespace qg::app {
namespace {

namespace fs = std::filesystem;
using qg::testing::TinyWorld;

// `train --out net.ckpt`, then `train_qat --from net.ckpt --out net.qgm`: the QAT checkpoint used to default
// to net.ckpt, replacing the float checkpoint, so that a later `ptq --from net.ckpt` failed. It is now
// net.qat.ckpt; net.ckpt stays the float checkpoint, byte for byte.
TEST(FileRoles, TheDefaultQatCheckpointIsNeverTheFloatOne) {
  TinyWorld world;
  TrainJob train;
  train.config_path = world.config_path();
  train.overrides.epochs = 1;
  train.out = world.file("net.ckpt");
  train.quiet = true;
  run_train_job(train);
  const std::string float_bytes = util::read_file(train.out);

  QuantJob qat;
  qat.method = QuantMethod::Qat;
  qat.config_path = world.config_path();
  qat.from = train.out;
  qat.qat_epochs = 1;
  qat.out = world.file("net.qgm");
  qat.quiet = true;
  run_quant_job(qat);
  EXPECT_EQ(util::read_file(train.out), float_bytes);
  EXPECT_EQ(nn::load_checkpoint(world.file("net.qat.ckpt")).metadata["kind"], "qat");
  EXPECT_EQ(default_qat_checkpoint(qat.out), world.file("net.qat.ckpt"));

  QuantJob ptq;
  ptq.method = QuantMethod::Ptq;
  ptq.config_path = world.config_path();
  ptq.from = train.out;
  ptq.out = world.file("net_ptq.qgm");
  ptq.quiet = true;
  EXPECT_NO_THROW(run_quant_job(ptq));
}

TEST(FileRoles, SameFileFollowsLinksAndSpellings) {
  data::testing::TempDir dir;
  util::write_file_atomically(dir.file("a.json"), "{}");
  util::write_file_atomically(dir.file("b.json"), "{}");
  fs::create_directory(dir.file("sub"));
  fs::create_symlink(dir.file("a.json"), dir.file("soft.json"));
  fs::create_hard_link(dir.file("a.json"), dir.file("hard.json"));
  fs::create_directory_symlink(dir.file("sub"), dir.file("sub_link"));
  EXPECT_TRUE(same_file(dir.file("a.json"), dir.file("sub/../a.json")));
  EXPECT_TRUE(same_file(dir.file("a.json"), dir.file("soft.json")));
  EXPECT_TRUE(same_file(dir.file("hard.json"), dir.file("a.json")));
  EXPECT_FALSE(same_file(dir.file("a.json"), dir.file("b.json")));
  // Outputs not written yet: where they would land.
  EXPECT_TRUE(same_file(dir.file("sub/new.ckpt"), dir.file("sub_link/new.ckpt")));
  EXPECT_FALSE(same_file(dir.file("sub/new.ckpt"), dir.file("sub/other.ckpt")));

  try {
    check_outputs_apart({{"--config", dir.file("a.json")}}, {{"--out", dir.file("hard.json")}});
    ADD_FAILURE() << "a hard link to the config was accepted as --out";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "--out " + dir.file("hard.json") + " is the same file as --config " +
                                         dir.file("a.json") +
                                         ": a tool never writes over a file it reads; choose another path");
  }
  EXPECT_NO_THROW(check_outputs_apart({{"--config", dir.file("a.json")}}, {{"--out", dir.file("b.json")}}));
}

// A resumed run continues its own checkpoint: `train --resume X` writes X (by default, or as --out X), and
// `train_qat --resume Q` keeps saving to Q.
TEST(FileRoles, AResumedRunWritesTheCheckpointItContinues) {
  qg::testing::TinyConfig config;
  config.epochs = 1;
  config.qat_epochs = 1;
  TinyWorld world(config);
  TrainJob train;
  train.config_path = world.config_path();
  train.out = world.file("net.ckpt");
  train.quiet = true;
  run_train_job(train);
  train.overrides.epochs = 2;
  train.resume = train.out;  // --out net.ckpt --resume net.ckpt
  EXPECT_NO_THROW(run_train_job(train));
  train.overrides.epochs = 3;
  train.out = "";  // the default: the --resume checkpoint
  EXPECT_NO_THROW(run_train_job(train));
  EXPECT_EQ(nn::load_checkpoint(*train.resume).metadata["epoch"], 3);

  QuantJob qat;
  qat.method = QuantMethod::Qat;
  qat.config_path = world.config_path();
  qat.from = *train.resume;
  qat.out = world.file("net.qgm");
  qat.quiet = true;
  run_quant_job(qat);
  qat.from.reset();
  qat.resume = world.file("net.qat.ckpt");
  qat.qat_epochs = 2;
  EXPECT_NO_THROW(run_quant_job(qat));
  EXPECT_EQ(nn::load_checkpoint(*qat.resume).metadata["epoch"], 2);
}

}  // namespace
}  // namespace qg::app
