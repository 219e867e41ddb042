// One diverging bit width does not end a sweep (issue 10, item 8): the run is marked "diverged" in the
// table, the CSV and the plot, and the other widths go on.
#include <gtest/gtest.h>

#include <limits>

#include "app/flags.h"
#include "app/svg_plot.h"
#include "app/sweep_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "util/atomic_file.h"

namespace qg::app {
namespace {

TEST(Sweep, ADivergedWidthIsMarkedAndTheOthersGoOn) {
  qg::testing::TinyConfig config;
  config.epochs = 1;
  config.qat_epochs = 1;
  qg::testing::TinyWorld world(config);
  TrainJob train;
  train.config_path = world.config_path();
  train.out = world.file("float.ckpt");
  train.quiet = true;
  run_train_job(train);

  SweepJob job;
  job.config_path = world.config_path();
  job.from = train.out;
  job.bits = {2, 4, 8};
  job.out_dir = world.file("results");
  // QAT at 2 bits: a NaN appears in the first conv's weight after step 2, so step 3 diverges.
  job.on_qat_step = [](int64_t bits, const TrainingProgress& p, nn::Module& model) {
    if (bits == 2 && p.step == 2)
      model.named_parameters().front().second.data()[0] = std::numeric_limits<float>::quiet_NaN();
  };
  const SweepOutcome s = run_sweep_job(job);
  ASSERT_EQ(s.rows.size(), 6u) << "every width and method ran";
  ASSERT_EQ(s.failed().size(), 1u);
  EXPECT_EQ(s.failed()[0]->bits, 2);
  EXPECT_EQ(s.failed()[0]->method, 1u);  // the second row of the default methods, QAT
  EXPECT_EQ(s.failed()[0]->status, "diverged");
  EXPECT_NE(s.failed()[0]->reason.find("training diverged at step 3"), std::string::npos);
  for (const SweepRow& r : s.rows) {
    if (r.status == "ok") {
      EXPECT_GT(r.outcome.integer.accuracy, 0.0) << r.bits;
    }
  }

  const std::string md = util::read_file(s.markdown_path);
  // The QAT integer-accuracy row: 2 bits diverged, 4 and 8 bits have numbers.
  const size_t row = md.find("| QAT tutorial, 1 epoch | diverged |");
  EXPECT_NE(row, std::string::npos) << md;
  EXPECT_EQ(md.find("diverged", md.find("| PTQ (tutorial) |")), md.find("diverged", row))
      << "PTQ has no diverged cell";
  EXPECT_NE(md.find("* QAT tutorial, 1 epoch at 2 bits, diverged: training diverged at step 3"),
            std::string::npos)
      << md;

  const std::string csv = util::read_file(s.csv_path);
  EXPECT_NE(csv.find(",status\n"), std::string::npos);
  EXPECT_NE(csv.find("\n2,qat,tutorial,1," + std::to_string(s.float_accuracy).substr(0, 3)),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",,,,diverged\n"), std::string::npos) << csv;
  size_t ok_lines = 0;
  for (size_t at = csv.find(",ok\n"); at != std::string::npos; at = csv.find(",ok\n", at + 1))
    ++ok_lines;
  EXPECT_EQ(ok_lines, 5u);

  const std::string svg = util::read_file(s.svg_path);
  EXPECT_NE(svg.find(">diverged</text>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos) << "no NaN coordinates";
}

TEST(Sweep, MethodListsNameEachRow) {
  const std::vector<SweepMethod> m = parse_sweep_methods("ptq-tutorial,ptq,tutorial:1,lsq,binary:10");
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].kind, QuantMethod::Ptq);
  EXPECT_EQ(m[0].quant_method, "tutorial");
  EXPECT_EQ(m[1].quant_method, "");
  EXPECT_EQ(m[2].kind, QuantMethod::Qat);
  EXPECT_EQ(m[2].epochs, std::optional<int64_t>(1));
  EXPECT_FALSE(m[3].epochs);
  EXPECT_EQ(m[4].quant_method, "binary");
  EXPECT_EQ(m[2].label("tutorial", 1), "QAT tutorial, 1 epoch");
  EXPECT_EQ(m[0].label("tutorial", 1), "PTQ (tutorial)");
  for (const char* bad : {"dorefa", "ptq:3", "lsq:", "lsq:x", ""}) {
    EXPECT_THROW(parse_sweep_methods(bad), UsageError) << bad;
  }
}

// The plot: a NaN value is a gap in its line and a cross on the axis. Values {10, NaN, 30, 40} make two
// lines ({10} and {30, 40}), three dots and one "diverged" cross.
TEST(Sweep, PlotDrawsAMissingValueAsAGapAndACross) {
  const std::string svg = line_chart_svg(
      {{"ours", "#d62728", false, {1, 2, 3, 4}, {10, std::numeric_limits<double>::quiet_NaN(), 30, 40}}},
      {"t", "bits", "accuracy", 0, 100, 720, 440});
  const auto count = [&](const std::string& part) {
    size_t n = 0;
    for (size_t at = svg.find(part); at != std::string::npos; at = svg.find(part, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("<polyline"), 2u);
  EXPECT_EQ(count("<circle"), 3u);
  EXPECT_EQ(count(">diverged</text>"), 1u);
  EXPECT_EQ(count("nan"), 0u);
}

}  // namespace
}  // namespace qg::app
