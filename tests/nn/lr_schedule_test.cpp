// Learning-rate schedules against PyTorch's schedulers (StepLR, CosineAnnealingLR, LinearLR warm-up followed
// by cosine through SequentialLR), stepped once per optimizer step: tests/fixtures/lr_schedule.json, written
// by tests/fixtures/make_fixtures.py.
#include <gtest/gtest.h>

#include "common/torch_fixtures.h"
#include "nn/optim/lr_schedule.h"

namespace qg::nn {
namespace {

using qg::testing::json;

TEST(GoldenTorch, LrSchedules) {
  const json doc = qg::testing::load_fixture("lr_schedule.json");
  ASSERT_EQ(doc.at("cases").size(), 3u);
  for (const json& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const json& o = c.at("options");
    LrSchedule s;
    s.kind = parse_lr_schedule(o.at("kind"));
    s.base_lr = o.at("base_lr");
    s.step_size = o.value("step_size", 0);
    s.gamma = o.value("gamma", 0.1);
    s.total_steps = o.value("total_steps", 0);
    s.warmup_steps = o.value("warmup_steps", 0);
    s.warmup_start_factor = o.value("warmup_start_factor", 0.1);
    const std::vector<double> expected = c.at("lr");
    for (size_t step = 0; step < expected.size(); ++step) {
      EXPECT_NEAR(s.lr_at(static_cast<int64_t>(step)), expected[step], 1e-12 + 1e-9 * expected[step])
          << "step " << step;
    }
  }
}

TEST(LrSchedule, ConstantAndValidation) {
  LrSchedule s;
  s.base_lr = 0.03;
  EXPECT_EQ(s.lr_at(0), 0.03);
  EXPECT_EQ(s.lr_at(1000), 0.03);
  s.kind = LrScheduleKind::Step;  // step_size 0
  EXPECT_THROW(s.lr_at(0), std::invalid_argument);
  EXPECT_THROW(parse_lr_schedule("exponential"), std::invalid_argument);
}

}  // namespace
}  // namespace qg::nn
