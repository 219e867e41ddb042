// Settings are refused when the config is read, with the file and the JSON path, not deep inside a run
// (issue 10, item 6). `quant.percentile` <= 50 used to pass the loader and be refused by the percentile
// observer after a whole float training (train_qat without --from), naming neither the file nor the field.
#include <gtest/gtest.h>

#include "app/quantize_job.h"
#include "app/tiny_run.h"

namespace qg::app {
namespace {

TEST(LateRefusals, PercentileAtMost50IsRefusedWhenTheConfigIsRead) {
  qg::testing::TinyConfig config;
  config.percentile = 30;
  qg::testing::TinyWorld world(config);
  QuantJob job;
  job.method = QuantMethod::Qat;
  job.config_path = world.config_path();
  job.observer = "percentile";
  job.out = world.file("net.qgm");
  job.quiet = true;
  int64_t steps = 0;
  job.on_step = [&](const TrainingProgress&, float, nn::Module&) { ++steps; };
  try {
    run_quant_job(job);
    ADD_FAILURE() << "percentile 30 was accepted";
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(e.what()),
              job.config_path + ": /quant/percentile: expected a number in (50, 100], found 30.0");
  }
  EXPECT_EQ(steps, 0) << "refused before any training";
}

}  // namespace
}  // namespace qg::app
