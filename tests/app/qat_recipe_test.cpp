// From the quant section to a QAT run's objects: per-layer settings, the optimizer's parameter groups (no
// weight decay on learned step sizes), the learning-rate schedule over the QAT steps, epoch-based freezing.
#include <gtest/gtest.h>

#include "app/qat_recipe.h"
#include "common/synthetic_digits.h"
#include "config/builder.h"
#include "config/loader.h"
#include "tiny_run.h"

namespace qg::app {
namespace {

config::ModelConfig tiny(const std::string& method) {
  testing::TinyConfig c;
  c.method = method;
  return config::parse_config_text(testing::tiny_config_json(c, "unused"), "tiny.json");
}

TEST(QatRecipe, LayerSettingsFollowTheMethod) {
  const config::ModelConfig lsq = tiny("lsq");
  const std::vector<quant::QuantSettings> s = layer_settings(lsq);
  ASSERT_EQ(s.size(), lsq.layers.size());
  EXPECT_EQ(s[0].method, quant::QatMethod::Lsq);
  EXPECT_TRUE(s[0].weight.is_signed && s[0].weight.symmetric);
  EXPECT_FALSE(s[0].activation.is_signed);
  EXPECT_TRUE(s[0].fuse_relu);
  const std::vector<quant::QuantSettings> t = layer_settings(tiny("tutorial"));
  EXPECT_EQ(t[0].method, quant::QatMethod::Tutorial);
  EXPECT_FALSE(t[0].weight.is_signed || t[0].fuse_relu || t[0].per_channel_weights);
  EXPECT_EQ(t[0].ste, quant::Ste::Identity);
}

TEST(QatRecipe, WeightDecaySparesTheLearnedStepSizes) {
  config::ModelConfig c = tiny("lsq");
  c.quant.weight_decay = 0.5;
  Generator gen(1);
  auto model = config::build_model(c, gen);
  auto qat = quant::prepare_qat(*model, layer_settings(c));
  qat->eval();
  NoGradGuard no_grad;
  (*qat)(testing::SyntheticDigits(4, 1).images(0, 4));  // initialises the step sizes
  const std::vector<Tensor> steps = qat->quantizer_parameters();
  ASSERT_FALSE(steps.empty());
  auto optimizer = make_qat_optimizer(config::resolve_quant(c.quant), *qat);
  std::vector<std::vector<float>> before;
  for (Tensor p : qat->parameters()) {
    p.set_grad(Tensor::zeros(p.shape()));  // only the decay moves anything
    before.push_back(p.to_vector());
  }
  optimizer->step();
  size_t i = 0, decayed = 0;
  for (const Tensor& p : qat->parameters()) {
    const bool is_step =
        std::any_of(steps.begin(), steps.end(), [&](const Tensor& s) { return s.data() == p.data(); });
    if (is_step) {
      EXPECT_EQ(p.to_vector(), before[i]) << "a step size was decayed";
    } else if (p.to_vector() != before[i]) {
      ++decayed;
    }
    ++i;
  }
  EXPECT_GT(decayed, 0u) << "the network's weights are decayed";
}

TEST(QatRecipe, ScheduleAndFreezingAreFunctionsOfTheStepAndEpoch) {
  config::QuantConfig q;
  q.method = "lsq";
  q.qat_epochs = 4;
  q.warmup_epochs = 0.5;
  q.freeze_bn_epoch = 2;
  q.freeze_observers_epoch = config::QuantConfig::kNever;
  const config::QuantRecipe r = config::resolve_quant(q);
  const nn::LrSchedule s = qat_lr_schedule(r, 100);
  EXPECT_EQ(s.total_steps, 400);
  EXPECT_EQ(s.warmup_steps, 50);
  EXPECT_EQ(s.kind, nn::LrScheduleKind::Cosine);
  EXPECT_NEAR(s.lr_at(0), 0.001, 1e-12);  // warm-up starts at a tenth
  EXPECT_NEAR(s.lr_at(50), 0.01, 1e-12);  // the peak
  EXPECT_NEAR(s.lr_at(400), 0.0, 1e-12);  // annealed away
  EXPECT_FALSE(bn_frozen_in(r, 2));
  EXPECT_TRUE(bn_frozen_in(r, 3));
  EXPECT_FALSE(observers_frozen_in(r, 100));
}

}  // namespace
}  // namespace qg::app
