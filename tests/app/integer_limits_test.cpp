// The int32 limits of the integer model, end to end through `ptq` (issue 10, items 3 and 4).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <regex>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
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
// the minmax weight scale its bias needs codes far beyond int32: `ptq` refuses the layer, naming it, the
// bias that needs the largest code and that code, computed from the unclamped bias (it used to clamp the
// bias to int32 and then blame the accumulator bound, with a figure computed from the clamped value).
TEST(IntegerLimits, ABiasBeyondInt32IsRefusedNamingTheLayerTheBiasAndTheCode) {
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
  const size_t largest = static_cast<size_t>(
      std::max_element(b.begin(), b.end(), [](float x, float y) { return std::abs(x) < std::abs(y); }) -
      b.begin());
  // The minmax weight scale: (max(w, 0) - min(w, 0)) / 255.
  const double weight_scale = (std::max(0.0f, *std::max_element(w.begin(), w.end())) -
                               std::min(0.0f, *std::min_element(w.begin(), w.end()))) /
                              255.0;

  std::string message;
  try {
    ptq(world, from);
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }
  EXPECT_EQ(message.rfind("convert: layer 0 (QConv2d(", 0), 0u) << message;
  const std::regex pattern(
      R"(: bias (\d+) = (\S+) needs the code (\S+) at the accumulator scale (\S+) \(input scale (\S+) x weight scale (\S+)\), beyond int32 \(biases beyond it: (\d+) of 4\))");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(message, m, pattern)) << message;
  EXPECT_EQ(std::stoul(m[1]), largest);
  EXPECT_NEAR(std::stod(m[6]), weight_scale, weight_scale * 1e-2);
  const double code = std::stod(m[3]), accumulator_scale = std::stod(m[4]);
  EXPECT_NEAR(code, b[largest] / accumulator_scale, std::abs(code) * 1e-2) << "the unclamped code";
  EXPECT_GT(std::abs(code), static_cast<double>(kInt32Max));
  EXPECT_GT(std::stod(m[5]), 0.005) << "an 8-bit scale of normalised pixels";
  EXPECT_LT(std::stod(m[5]), 0.02);
  EXPECT_FALSE(std::filesystem::exists(world.file("net.qgm"))) << "no model file";
}

}  // namespace
}  // namespace qg::app
