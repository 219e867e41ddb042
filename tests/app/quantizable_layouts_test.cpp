// What `train` accepts, `ptq` and `train_qat` quantize (issue 10, item 7). Three layouts a user wrote passed
// the config loader and trained, then ptq and train_qat refused them after loading and evaluating (or after
// the whole float training), naming neither the file nor the field: a BatchNorm2d after a ReLU, a BatchNorm2d
// on the raw input, an avgpool2d as the first layer. Each now goes train -> ptq and train_qat (tutorial and
// lsq) -> an integer model whose predictions agree with its fake-quant model's; and what the integer runtime
// truly cannot hold is refused when the config is read.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "config/loader.h"
#include "config/shape_inference.h"
#include "runtime/dims.h"
#include "runtime/model_file.h"
#include "runtime/window2d.h"

namespace qg::app {
namespace {

using qg::testing::TinyConfig;
using qg::testing::TinyWorld;

struct Layout {
  const char* name;
  const char* layers;
  size_t op;            // the op of the integer model that shows the layout was kept
  const char* op_type;  // ... and its type
};

const Layout kLayouts[] = {
    {"bn_after_relu",  // conv -> max-pool -> relu -> batchnorm2d -> conv, the issue's first
     R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3},
         {"type": "maxpool2d", "kernel_size": 2},
         {"type": "relu"},
         {"type": "batchnorm2d"},
         {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
         {"type": "relu"},
         {"type": "maxpool2d", "kernel_size": 2},
         {"type": "flatten"},
         {"type": "linear", "out_features": 10}])",
     3, "mul_add"},
    {"bn_on_input",
     R"([{"type": "batchnorm2d"},
         {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
         {"type": "relu"},
         {"type": "maxpool2d", "kernel_size": 2},
         {"type": "flatten"},
         {"type": "linear", "out_features": 10}])",
     0, "mul_add"},
    {"avgpool_first",
     R"([{"type": "avgpool2d", "kernel_size": 2},
         {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
         {"type": "relu"},
         {"type": "maxpool2d", "kernel_size": 2},
         {"type": "flatten"},
         {"type": "linear", "out_features": 10}])",
     0, "avg_pool2d"},
};

// 1000 test images, so that an agreement of at least 99.9 % allows one differing prediction.
constexpr int64_t kTestImages = 1000;

QuantJob quant_job(const TinyWorld& world, QuantMethod method, const std::string& qat_method,
                   const std::optional<std::string>& from) {
  QuantJob job;
  job.method = method;
  job.config_path = world.config_path();
  job.quant_method = qat_method;
  job.from = from;
  job.out = world.file(qat_method + (method == QuantMethod::Ptq ? "_ptq.qgm" : "_qat.qgm"));
  job.quiet = true;
  return job;
}

void expect_quantized(const QuantOutcome& o, const std::string& path, const Layout& layout) {
  EXPECT_GE(o.agreement, 0.999) << "integer and fake-quant models predict alike";
  EXPECT_GE(o.integer.accuracy, o.float_accuracy - 0.1)
      << "8-bit quantization keeps the float model's accuracy";
  const runtime::Model saved = runtime::load_model(path);
  ASSERT_GT(saved.ops.size(), layout.op);
  EXPECT_STREQ(runtime::op_name(saved.ops[layout.op]), layout.op_type);
}

// Runs in `dir` while alive: without --from, the float phase writes runs/<config>.ckpt there.
class InDirectory {
 public:
  explicit InDirectory(const std::filesystem::path& dir) : previous_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~InDirectory() { std::filesystem::current_path(previous_); }

 private:
  std::filesystem::path previous_;
};

class QuantizableLayout : public ::testing::TestWithParam<Layout> {};

TEST_P(QuantizableLayout, TrainThenPtqAndTrainQatGiveAnAgreeingIntegerModel) {
  const Layout& layout = GetParam();
  TinyConfig c;
  c.name = layout.name;
  c.layers = layout.layers;
  c.epochs = 2;
  c.qat_epochs = 1;
  const TinyWorld world(c, 256, kTestImages);

  TrainJob train;
  train.config_path = world.config_path();
  train.out = world.file("net.ckpt");
  train.quiet = true;
  run_train_job(train);

  for (const std::string method : {"tutorial", "lsq"}) {
    SCOPED_TRACE(method);
    const QuantJob ptq = quant_job(world, QuantMethod::Ptq, method, train.out);
    expect_quantized(run_quant_job(ptq), ptq.out, layout);
    const QuantJob qat = quant_job(world, QuantMethod::Qat, method, train.out);
    expect_quantized(run_quant_job(qat), qat.out, layout);
  }
}

// train_qat without --from trains the float model first: nothing may be refused after that training.
TEST_P(QuantizableLayout, TrainQatWithoutAFloatCheckpointQuantizesAfterItsFloatTraining) {
  const Layout& layout = GetParam();
  TinyConfig c;
  c.name = layout.name;
  c.layers = layout.layers;
  c.epochs = 1;
  c.qat_epochs = 1;
  const TinyWorld world(c, 256, kTestImages);
  const InDirectory in_work(world.work.path());
  const QuantJob job = quant_job(world, QuantMethod::Qat, "lsq", std::nullopt);
  expect_quantized(run_quant_job(job), job.out, layout);
}

INSTANTIATE_TEST_SUITE_P(Issue10Item7, QuantizableLayout, ::testing::ValuesIn(kLayouts),
                         [](const auto& info) { return std::string(info.param.name); });

// The config loader's limits are the integer runtime's: a layer that trains can be quantized.
TEST(ConfigLimits, AreTheIntegerRuntimesSoWhatTrainsQuantizes) {
  static_assert(config::kMaxTensorElements == runtime::kMaxElements);
  static_assert(config::kMaxWindowSize == runtime::kMaxWindowSize);
  // At the limit: accepted by the loader, trained, quantized.
  TinyConfig c;
  c.name = "huge_stride";
  c.layers = R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 1073741824},
                 {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 10}])";
  c.epochs = 1;
  const TinyWorld world(c);
  const InDirectory in_work(world.work.path());
  const QuantJob job = quant_job(world, QuantMethod::Ptq, "tutorial", std::nullopt);
  EXPECT_NO_THROW(run_quant_job(job));
  // One beyond: refused when the config is read, naming the file and the field.
  c.layers = R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 1073741825},
                 {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 10}])";
  world.write_config(c);
  int64_t steps = 0;
  QuantJob refused = quant_job(world, QuantMethod::Qat, "tutorial", std::nullopt);
  refused.on_step = [&](const TrainingProgress&, float, nn::Module&) { ++steps; };
  try {
    run_quant_job(refused);
    ADD_FAILURE() << "a stride of 2^30 + 1 was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              world.config_path() +
                  ": /layers/0/stride: stride 1073741825 is more than 2^30 = 1073741824, "
                  "the largest window size the integer model of ptq and train_qat takes");
  }
  EXPECT_EQ(steps, 0) << "refused before any training";
}

}  // namespace
}  // namespace qg::app
