// A BatchNorm training batch with one value per channel (issue 10, item 2): conv (kernel 28, so a 1x1 map)
// -> batchnorm2d -> relu -> linear, trained on 257 images in batches of 64, whose last batch holds one
// image. `train` used to refuse it mid-run without naming the layer or the cause; `train_qat` folded it with
// a batch variance of 0 and silently lost most of its integer accuracy. Both now ask one rule before
// training (app/training_batches.h): drop that last batch (saying so), or refuse a batch size that is too
// small naming the layer.
#include <gtest/gtest.h>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "app/training_batches.h"
#include "config/loader.h"
#include "core/kernels/batch_norm.h"
#include "nn/layers.h"
#include "quant/qat_model.h"

namespace qg::app {
namespace {

using qg::testing::TinyConfig;
using qg::testing::TinyWorld;

const char* kOneByOneBatchNorm = R"([
      {"type": "conv2d", "out_channels": 8, "kernel_size": 28},
      {"type": "batchnorm2d"},
      {"type": "relu"},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ])";

// The message of the std::runtime_error `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

config::ModelConfig config_with(const char* layers, int64_t batch_size) {
  TinyConfig c;
  c.name = "one_by_one_bn";
  c.layers = layers;
  c.batch_size = batch_size;
  return config::parse_config_text(qg::testing::tiny_config_json(c, "data"), "bn.json");
}

TEST(TrainingBatches, TheLastBatchIsDroppedExactlyWhenItStarvesABatchNorm) {
  const config::ModelConfig one_by_one = config_with(kOneByOneBatchNorm, 64);
  // The BN input is [8, 1, 1]: a batch of b images gives it b values per channel.
  EXPECT_EQ(batch_norm_starved_by(one_by_one, 1), std::optional<size_t>(1));
  EXPECT_EQ(batch_norm_starved_by(one_by_one, 2), std::nullopt);
  EXPECT_TRUE(drop_last_batch(one_by_one, 257));  // 4 * 64 + 1
  EXPECT_TRUE(drop_last_batch(one_by_one, 5 * 64 + 1));
  EXPECT_FALSE(drop_last_batch(one_by_one, 256));  // no partial batch
  EXPECT_FALSE(drop_last_batch(one_by_one, 258));  // a last batch of 2: two values per channel
  EXPECT_FALSE(drop_last_batch(one_by_one, 1)) << "a single partial batch is the whole epoch: refused";
  EXPECT_NE(
      error_of([&] { check_training_batches(one_by_one, 1); }).find("it needs at least 2 training images"),
      std::string::npos);
  // The tiny CNN's BN sees a 26x26 map: one image gives it 676 values per channel.
  const config::ModelConfig big_map = config_with(qg::testing::kTinyCnnLayers, 64);
  EXPECT_EQ(batch_norm_starved_by(big_map, 1), std::nullopt);
  EXPECT_FALSE(drop_last_batch(big_map, 257));
}

TEST(TrainingBatches, ABatchSizeThatStarvesABatchNormIsRefusedNamingTheLayer) {
  const config::ModelConfig config = config_with(kOneByOneBatchNorm, 1);
  try {
    check_training_batches(config, 257);
    ADD_FAILURE() << "a batch of one image was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "bn.json: /layers/1 (batchnorm2d, input [8,1,1]): a training batch of 1 image gives it one "
              "value per channel, so its batch variance is 0 and it cannot normalise (PyTorch refuses this "
              "too); use a batch size of at least 2 (train.batch_size, or --batch-size)");
  }
  EXPECT_NO_THROW(check_training_batches(config_with(kOneByOneBatchNorm, 64), 257));
}

// Both tools on the issue's input: 257 training images, batch 64. An epoch is floor(257 / 64) = 4 steps
// (the fifth batch, of one image, is dropped): `train` no longer fails at its last batch, and `train_qat`
// never folds a batch variance of 0.
TEST(TrainingBatches, TrainAndTrainQatDropTheLastBatchOfOneImage) {
  TinyConfig c;
  c.name = "one_by_one_bn";
  c.layers = kOneByOneBatchNorm;
  c.batch_size = 64;
  c.epochs = 1;
  c.qat_epochs = 1;
  TinyWorld world(c, /*train_images=*/257);
  int64_t float_steps = 0, qat_steps = 0;
  TrainJob train;
  train.config_path = world.config_path();
  train.out = world.file("net.ckpt");
  train.quiet = true;
  train.on_step = [&](const TrainingProgress&, float, nn::Module&) { ++float_steps; };
  run_train_job(train);
  EXPECT_EQ(float_steps, 4);

  QuantJob qat;
  qat.method = QuantMethod::Qat;
  qat.config_path = world.config_path();
  qat.from = train.out;
  qat.out = world.file("net.qgm");
  qat.quiet = true;
  qat.on_step = [&](const TrainingProgress&, float, nn::Module&) { ++qat_steps; };
  run_quant_job(qat);
  EXPECT_EQ(qat_steps, 4);
}

TEST(TrainingBatches, BothToolsRefuseABatchOfOneBeforeAnyTraining) {
  TinyConfig c;
  c.name = "one_by_one_bn";
  c.layers = kOneByOneBatchNorm;
  c.epochs = 1;
  TinyWorld world(c, /*train_images=*/64);
  TrainJob train;
  train.config_path = world.config_path();
  train.overrides.batch_size = 1;
  train.out = world.file("net.ckpt");
  train.quiet = true;
  int64_t steps = 0;
  train.on_step = [&](const TrainingProgress&, float, nn::Module&) { ++steps; };
  EXPECT_NE(error_of([&] {
              run_train_job(train);
            }).find("/layers/1 (batchnorm2d, input [8,1,1]): a training batch of 1 image"),
            std::string::npos);
  train.overrides.batch_size.reset();
  run_train_job(train);  // a float model to start QAT from
  steps = 0;

  QuantJob qat;
  qat.method = QuantMethod::Qat;
  qat.config_path = world.config_path();
  qat.overrides.batch_size = 1;
  qat.from = train.out;
  qat.out = world.file("net.qgm");
  qat.quiet = true;
  qat.on_step = train.on_step;
  EXPECT_NE(error_of([&] {
              run_quant_job(qat);
            }).find("/layers/1 (batchnorm2d, input [8,1,1]): a training batch of 1 image"),
            std::string::npos);
  EXPECT_EQ(steps, 0);
  EXPECT_FALSE(std::filesystem::exists(qat.out));
}

// In process, QAT's conv + BN layer takes its batch statistics through the same kernel, which refuses a
// batch with one value per channel too (it used to fold a variance of 0).
TEST(TrainingBatches, QatConvBatchNormRefusesABatchWithOneValuePerChannel) {
  Generator gen(3);
  nn::Sequential net;
  net.add(std::make_shared<nn::Conv2d>(1, 4, 28, nn::functional::Conv2dOptions{}, true, gen));
  net.add(std::make_shared<nn::BatchNorm2d>(4));
  net.add(std::make_shared<nn::ReLU>());
  net.add(std::make_shared<nn::Flatten>());
  net.add(std::make_shared<nn::Linear>(4, 10, true, gen));
  auto qat = quant::prepare_qat(net, quant::QuantSettings{});
  qat->train();
  qat->set_observing(true);
  EXPECT_THROW((*qat)(Tensor::ones({1, 1, 28, 28})), std::invalid_argument);
  EXPECT_NO_THROW((*qat)(Tensor::ones({2, 1, 28, 28})));
}

}  // namespace
}  // namespace qg::app
