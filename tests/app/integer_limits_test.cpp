// The int32 limits of the integer model, end to end through `ptq` (issue 10, items 3 and 4).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "config/builder.h"
#include "nn/checkpoint.h"
#include "runtime/accumulator_bound.h"

namespace qg::app {
namespace {

using qg::testing::TinyConfig;
using qg::testing::TinyWorld;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// A float checkpoint of `layers` trained for one epoch on the tiny world's digits.
std::string trained(const TinyWorld& world) {
  TrainJob job;
  job.config_path = world.config_path();
  job.out = world.file("net.ckpt");
  job.quiet = true;
  run_train_job(job);
  return job.out;
}

QuantOutcome ptq(const TinyWorld& world, const std::string& from) {
  QuantJob job;
  job.method = QuantMethod::Ptq;
  job.config_path = world.config_path();
  job.from = from;
  job.out = world.file("net.qgm");
  job.quiet = true;
  return run_quant_job(job);
}

// Item 4: conv(1 -> 64, k3) -> relu -> flatten -> linear with 43264 inputs. The bound from the code range,
// K A (max|q_w| + max|Z_w|) + |bias|, is far above 2^31 for any 8-bit weights, so the model was refused;
// from the actual codes every term the kernels form fits, and the model is accepted.
TEST(IntegerLimits, AWideLinearLayerIsBoundedByItsActualCodes) {
  TinyConfig c;
  c.name = "wide_linear";
  c.layers = R"([{"type": "conv2d", "out_channels": 64, "kernel_size": 3}, {"type": "relu"},
                 {"type": "flatten"}, {"type": "linear", "out_features": 10}])";
  c.epochs = 1;
  const TinyWorld world(c);
  const QuantOutcome o = ptq(world, trained(world));
  const auto& linear = std::get<runtime::Linear>(o.model.ops.back());
  ASSERT_EQ(linear.in_features, 64 * 26 * 26);
  const runtime::QuantParams& in = linear.input_quant;
  const int64_t a = std::max(in.qmax() - in.zero_point, in.zero_point - in.qmin());
  const int64_t zero = *std::max_element(linear.weight.zero_points.begin(), linear.weight.zero_points.end());
  EXPECT_GT(linear.in_features * a * (255 + zero), kInt32Max) << "the range-based bound refused this layer";
  const runtime::AccumulatorBound bound =
      runtime::accumulator_bound(linear.in_features, in, linear.weight, linear.bias);
  EXPECT_LE(bound.value, kInt32Max);
  EXPECT_GT(o.integer.accuracy, 0.0);
  std::printf("43264-input linear: accumulator up to %lld, largest intermediate %lld (%s)\n",
              static_cast<long long>(bound.accumulator), static_cast<long long>(bound.value),
              bound.term.c_str());
}

// Item 3: the first conv's weights times 1e-6 (no BatchNorm, which would normalise the scaling away). At
// the minmax weight scale its bias needs codes far beyond int32; convert widens that layer's weight scale
// until every bias code fits within 2^30, says so, and the integer model still agrees with the fake-quant
// one (the layer's output is nearly all bias).
TEST(IntegerLimits, ABiasBeyondInt32WidensItsWeightScaleAndSaysSo) {
  TinyConfig c;
  c.name = "tiny_weights";
  c.layers = R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "relu"},
                 {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
                 {"type": "linear", "out_features": 10}])";
  c.epochs = 1;
  const TinyWorld world(c);
  const std::string from = trained(world);
  nn::Checkpoint checkpoint = nn::load_checkpoint(from);
  Tensor weight = checkpoint.find("model.0.weight");
  for (int64_t i = 0; i < weight.numel(); ++i)
    weight.data()[i] *= 1e-6f;
  nn::save_checkpoint(from, checkpoint);
  const std::vector<float> w = weight.to_vector(), b = checkpoint.find("model.0.bias").to_vector();

  const QuantOutcome o = ptq(world, from);
  const auto& conv = std::get<runtime::Conv2d>(o.model.ops.front());
  const double s_in = conv.input_quant.scale;
  // The minmax weight scale, (max(w, 0) - min(w, 0)) / 255, and the codes the bias would need at it.
  const double minmax_scale = (std::max(0.0f, *std::max_element(w.begin(), w.end())) -
                               std::min(0.0f, *std::min_element(w.begin(), w.end()))) /
                              255.0;
  double largest_bias = 0.0;
  for (const float v : b)
    largest_bias = std::max(largest_bias, std::abs(static_cast<double>(v)));
  ASSERT_GT(largest_bias / (s_in * minmax_scale), static_cast<double>(kInt32Max)) << "the case of the issue";

  ASSERT_EQ(conv.weight.scales.size(), 1u);
  EXPECT_GE(s_in * conv.weight.scales[0] * std::ldexp(1.0, 30), largest_bias * (1 - 1e-12));
  for (size_t k = 0; k < b.size(); ++k) {
    EXPECT_LE(std::abs(int64_t{conv.bias[k]}), int64_t{1} << 30);
    EXPECT_EQ(conv.bias[k], static_cast<int32_t>(std::nearbyint(b[k] / (s_in * conv.weight.scales[0])))) << k;
  }
  ASSERT_TRUE(o.model.metadata.contains("conversion_notes"));
  const std::string note = o.model.metadata["conversion_notes"][0];
  EXPECT_EQ(note.rfind("layer 0 (", 0), 0u) << note;
  EXPECT_NE(note.find("its bias needs int32 codes up to"), std::string::npos) << note;
  EXPECT_NE(note.find("was widened up to"), std::string::npos) << note;
  // The integer model predicts what the float model predicts (its first layer's output is nearly all bias).
  const config::ModelConfig config = load_config_with(world.config_path(), {});
  Generator gen(1);
  auto float_model = config::build_model(config, gen);
  load_training_checkpoint(from, *float_model, config.name);
  const EvalStats reference = evaluate(*float_model, load_dataset(config.data, data::Split::kTest), 100);
  int64_t same = 0;
  for (size_t i = 0; i < reference.predictions.size(); ++i)
    same += reference.predictions[i] == o.integer.predictions[i];
  EXPECT_GE(static_cast<double>(same) / reference.predictions.size(), 0.95)
      << "fake-quant accuracy " << o.fake_quant_accuracy << ", integer " << o.integer.accuracy << ", float "
      << reference.accuracy;
}

}  // namespace
}  // namespace qg::app
