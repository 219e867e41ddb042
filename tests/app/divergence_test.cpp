// Numerical faults: a NaN or Inf in the loss or in a gradient stops training before the optimizer step
// with a message that names the step and the first layer where the value appeared, and the last good
// checkpoint stays as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "app/training.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "quant/qat_model.h"

namespace qg::app {
namespace {

// `n` in-memory images (all pixels `pixel`), all of class `label`.
data::MnistDataset uniform_dataset(int64_t n, uint8_t pixel, uint8_t label) {
  return data::MnistDataset(std::vector<uint8_t>(static_cast<size_t>(n) * 784, pixel),
                            std::vector<uint8_t>(static_cast<size_t>(n), label), 28, 28, {0.1307f, 0.3081f});
}

std::shared_ptr<nn::Sequential> small_mlp(int64_t hidden, uint64_t seed) {
  Generator gen(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Linear>(784, hidden, true, gen));
  net->add(std::make_shared<nn::ReLU>());
  net->add(std::make_shared<nn::Linear>(hidden, 10, true, gen));
  return net;
}

// The message of the TrainingDiverged that `train` throws, or a test failure.
template <class Train>
std::string divergence_message(Train train) {
  try {
    train();
  } catch (const TrainingDiverged& e) {
    return e.what();
  }
  ADD_FAILURE() << "training did not stop";
  return "";
}

void expect_contains(const std::string& message, const std::string& part) {
  EXPECT_NE(message.find(part), std::string::npos) << "message: " << message << "\nmissing: " << part;
}

TEST(Divergence, NaNWeightNamesTheFirstLayerWhoseOutputIsNotFinite) {
  const data::MnistDataset data = uniform_dataset(64, 200, 3);
  const data::DataLoader loader(data, {.batch_size = 16});
  auto net = small_mlp(8, 1);
  auto& second = dynamic_cast<nn::Linear&>(*net->layers()[3]);
  second.weight.data()[5] = std::numeric_limits<float>::quiet_NaN();
  nn::Sgd sgd(net->parameters(), {.lr = 0.01});
  TrainingProgress progress{.epoch = 2, .batches_done = 1, .step = 9};  // a resumed run: step numbers go on
  const std::string message =
      divergence_message([&] { train_epoch(*net, sgd, loader, progress, {.quiet = true}); });
  expect_contains(message, "training diverged at step 10 (epoch 2, batch 1)");
  expect_contains(message, "the loss is NaN");
  expect_contains(message, "NaN in the output of layer 3 (" + second.describe() + ")");
  EXPECT_EQ(progress.step, 9) << "no step was taken";
}

TEST(Divergence, InfiniteWeightNamesItsLayer) {
  // Layers 0..2 finite, but a weight of +Inf makes layer 1's output infinite on a positive input.
  const data::MnistDataset data = uniform_dataset(16, 255, 0);
  const data::DataLoader loader(data, {.batch_size = 16});
  auto net = small_mlp(4, 2);
  auto& first = dynamic_cast<nn::Linear&>(*net->layers()[1]);
  first.weight.data()[0] = std::numeric_limits<float>::infinity();
  nn::Sgd sgd(net->parameters(), {.lr = 0.01});
  TrainingProgress progress;
  const std::string message =
      divergence_message([&] { train_epoch(*net, sgd, loader, progress, {.quiet = true}); });
  expect_contains(message, "at step 1 (epoch 1, batch 0)");
  expect_contains(message, "in the output of layer 1 (" + first.describe() + ")");
}

// Issue 10, item 1: conv -> relu -> linear with one NaN in the conv bias. ReLU used to map the NaN channel
// to 0 (and its backward to a zero gradient), so the loss stayed finite and the NaN was trained around and
// saved again. As in PyTorch, relu(NaN) is NaN: the loss is NaN and the first step stops at layer 0.
TEST(Divergence, NaNConvBiasBehindReluStopsTheFirstStepAtTheConv) {
  const data::MnistDataset data = uniform_dataset(32, 120, 2);
  const data::DataLoader loader(data, {.batch_size = 16});
  Generator gen(5);
  auto net = std::make_shared<nn::Sequential>();
  auto conv = std::make_shared<nn::Conv2d>(1, 3, 5, nn::functional::Conv2dOptions{}, true, gen);
  net->add(conv);
  net->add(std::make_shared<nn::ReLU>());
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Linear>(3 * 24 * 24, 10, true, gen));
  conv->bias.data()[1] = std::numeric_limits<float>::quiet_NaN();
  nn::Sgd sgd(net->parameters(), {.lr = 0.01});
  TrainingProgress progress;
  const std::string message =
      divergence_message([&] { train_epoch(*net, sgd, loader, progress, {.quiet = true}); });
  expect_contains(message, "training diverged at step 1 (epoch 1, batch 0): the loss is NaN");
  expect_contains(message, "NaN in the output of layer 0 (" + conv->describe() + ")");
  EXPECT_EQ(progress.step, 0) << "no step was taken";
}

// The same checkpoint on disk: `train --resume` (and `ptq --from`) refuse it at load time, naming the tensor
// and the element, before any step or output.
TEST(Divergence, ACheckpointHoldingANaNIsRefusedAtLoadNamingTheTensor) {
  qg::testing::TinyConfig config;
  config.name = "conv_relu_linear";
  config.layers = R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "relu"},
                      {"type": "flatten"}, {"type": "linear", "out_features": 10}])";
  config.epochs = 1;
  qg::testing::TinyWorld world(config);
  TrainJob job;
  job.config_path = world.config_path();
  job.out = world.file("net.ckpt");
  job.quiet = true;
  run_train_job(job);
  nn::Checkpoint poisoned = nn::load_checkpoint(job.out);
  Tensor bias = poisoned.find("model.0.bias");
  bias.data()[2] = std::numeric_limits<float>::quiet_NaN();
  nn::save_checkpoint(job.out, poisoned);
  const std::string bytes = util::read_file(job.out);

  const std::string expected =
      "checkpoint: " + job.out + ": tensor \"model.0.bias\" [4] holds NaN at element 2";
  job.resume = job.out;
  job.out = "";
  job.overrides.epochs = 2;
  try {
    run_train_job(job);
    ADD_FAILURE() << "train --resume accepted a NaN checkpoint";
  } catch (const nn::CheckpointError& e) {
    expect_contains(e.what(), expected);
  }
  EXPECT_EQ(util::read_file(*job.resume), bytes) << "nothing may be saved over it";

  QuantJob ptq;
  ptq.method = QuantMethod::Ptq;
  ptq.config_path = world.config_path();
  ptq.from = *job.resume;
  ptq.out = world.file("net.qgm");
  ptq.quiet = true;
  try {
    run_quant_job(ptq);
    ADD_FAILURE() << "ptq --from accepted a NaN checkpoint";
  } catch (const nn::CheckpointError& e) {
    expect_contains(e.what(), expected);
  }
  EXPECT_FALSE(std::filesystem::exists(ptq.out));
}

// Predictions: a NaN logit is the largest (torch.argmax), not skipped in favour of a finite one.
TEST(Divergence, ArgmaxOfANaNRowPointsAtTheNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor logits = Tensor::from_vector({0, 5, nan, 1, 0, 0, 0, 0}, {2, 4});
  EXPECT_EQ(argmax_rows(logits), (std::vector<int64_t>{2, 0}));
}

TEST(Divergence, OverflowingGradientNamesTheLayerTheBackwardPassReachedFirst) {
  // A finite forward pass whose backward overflows: layer 1 outputs zeros, so the logits are 0 and the loss
  // is ln 10; but layer 2's weights of +-3e38 make layer 1's output gradient about -3e38/16 per image, and
  // summed over 16 images of bright pixels (x = 2.82) its weight gradient passes FLT_MAX.
  const data::MnistDataset data = uniform_dataset(16, 255, 0);
  const data::DataLoader loader(data, {.batch_size = 16});
  Generator gen(3);
  auto net = std::make_shared<nn::Sequential>();  // no ReLU: its gradient at 0 would stop the overflow
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Linear>(784, 2, true, gen));
  net->add(std::make_shared<nn::Linear>(2, 10, true, gen));
  auto& first = dynamic_cast<nn::Linear&>(*net->layers()[1]);
  auto& last = dynamic_cast<nn::Linear&>(*net->layers()[2]);
  first.weight.copy_from(Tensor::zeros(first.weight.shape()));
  first.bias.copy_from(Tensor::zeros(first.bias.shape()));
  for (int64_t k = 0; k < 10; ++k) {
    for (int64_t j = 0; j < 2; ++j)
      last.weight.data()[k * 2 + j] = k < 5 ? 3e38f : -3e38f;
  }
  last.bias.copy_from(Tensor::zeros(last.bias.shape()));
  const std::vector<float> before = first.weight.to_vector();
  nn::Sgd sgd(net->parameters(), {.lr = 0.01});
  TrainingProgress progress;
  const std::string message =
      divergence_message([&] { train_epoch(*net, sgd, loader, progress, {.quiet = true}); });
  expect_contains(message, "at step 1 (epoch 1, batch 0)");
  expect_contains(
      message, "non-finite gradient in layer 1 (" + first.describe() + "): -Inf in the gradient of 1.weight");
  EXPECT_EQ(first.weight.to_vector(), before) << "the optimizer must not have stepped";
}

TEST(Divergence, QatObserverThatSeesNaNNamesItsLayer) {
  const data::MnistDataset data = uniform_dataset(32, 100, 1);
  const data::DataLoader loader(data, {.batch_size = 16});
  auto net = small_mlp(8, 4);
  auto qat = quant::prepare_qat(*net, quant::QuantSettings{});
  qat->set_observing(true);
  auto& last = dynamic_cast<nn::Linear&>(*net->layers()[3]);
  last.weight.data()[0] = std::numeric_limits<float>::quiet_NaN();  // the QAT model shares the float weights
  nn::Sgd sgd(qat->parameters(), {.lr = 0.01});
  TrainingProgress progress;
  const std::string message =
      divergence_message([&] { train_epoch(*qat, sgd, loader, progress, {.quiet = true}); });
  expect_contains(message, "at step 1 (epoch 1, batch 0)");
  expect_contains(message, "a quantization observer saw a non-finite value");
  expect_contains(message, "inside layer 3 (" + qat->layers()[3]->describe() + ")");
}

// With a fused ReLU the QAT model has fewer layers than the config (here QFlatten, QLinear+ReLU, QLinear for
// flatten, linear, relu, linear): the message still names the config's layer 3, not the QAT model's third.
TEST(Divergence, QatLayersGoByTheirConfigNumberWhenAReluIsFused) {
  const data::MnistDataset data = uniform_dataset(32, 100, 1);
  const data::DataLoader loader(data, {.batch_size = 16});
  auto net = small_mlp(8, 4);
  quant::QuantSettings settings;
  settings.fuse_relu = true;
  auto qat = quant::prepare_qat(*net, settings);
  ASSERT_EQ(qat->layers().size(), 3u);
  qat->set_observing(true);
  dynamic_cast<nn::Linear&>(*net->layers()[3]).weight.data()[0] = std::numeric_limits<float>::quiet_NaN();
  nn::Sgd sgd(qat->parameters(), {.lr = 0.01});
  TrainingProgress progress;
  const std::string message =
      divergence_message([&] { train_epoch(*qat, sgd, loader, progress, {.quiet = true}); });
  expect_contains(message, "inside layer 3 (" + qat->layers()[2]->describe() + ")");
}

// Through the jobs: a learning rate of 1e30 blows the weights up within a few steps. The run stops with
// the step and the layer, names its last step checkpoint, and that checkpoint is byte for byte the one
// saved before the fault.
TEST(Divergence, TrainJobStopsAndKeepsTheLastGoodCheckpoint) {
  qg::testing::TinyWorld world;
  TrainJob job;
  job.config_path = world.config_path();
  job.overrides.lr = 1e30;
  job.threads = 1;
  job.out = world.file("run.ckpt");
  job.checkpoint_every = 1;
  job.quiet = true;
  std::string last_saved;
  int64_t steps = 0;
  job.on_step = [&](const TrainingProgress& p, float, nn::Module&) {
    steps = p.step;
    last_saved = util::read_file(job.out);  // each step is checkpointed before the hook runs
  };
  const std::string message = divergence_message([&] { run_train_job(job); });
  ASSERT_GT(steps, 0) << message;
  expect_contains(message, "training diverged at step " + std::to_string(steps + 1) + " (epoch 1, batch " +
                               std::to_string(steps) + ")");
  expect_contains(message, "layer ");
  expect_contains(message,
                  "the last good checkpoint is " + job.out + " (after step " + std::to_string(steps));
  EXPECT_EQ(util::read_file(job.out), last_saved);
  const nn::Checkpoint intact = nn::load_checkpoint(job.out);
  EXPECT_EQ(intact.metadata["progress"]["step"], steps);
}

// QAT with an injected fault: after step 3 (and its checkpoint) a NaN appears in the first conv's weight.
// Step 4 stops in that layer's weight observer; the step-3 checkpoint is untouched.
TEST(Divergence, QatJobStopsAndKeepsTheLastGoodCheckpoint) {
  qg::testing::TinyWorld world;
  TrainJob float_job;
  float_job.config_path = world.config_path();
  float_job.overrides.epochs = 1;
  float_job.out = world.file("float.ckpt");
  float_job.quiet = true;
  run_train_job(float_job);

  QuantJob job;
  job.method = QuantMethod::Qat;
  job.config_path = world.config_path();
  job.from = float_job.out;
  job.threads = 1;
  job.out = world.file("qat.qgm");
  job.checkpoint = world.file("qat.ckpt");
  job.checkpoint_every = 1;
  job.quiet = true;
  std::string last_saved;
  job.on_step = [&](const TrainingProgress& p, float, nn::Module& model) {
    last_saved = util::read_file(job.checkpoint);
    if (p.step == 3)
      model.named_parameters().front().second.data()[0] = std::numeric_limits<float>::quiet_NaN();
  };
  const std::string message = divergence_message([&] { run_quant_job(job); });
  expect_contains(message, "training diverged at step 4 (epoch 1, batch 3)");
  expect_contains(message, "inside layer 0 (QConvBNReLU(");
  expect_contains(message, "the last good checkpoint is " + job.checkpoint + " (after step 3)");
  EXPECT_EQ(util::read_file(job.checkpoint), last_saved);
  EXPECT_EQ(nn::load_checkpoint(job.checkpoint).metadata["progress"]["step"], 3);
  EXPECT_FALSE(std::filesystem::exists(job.out)) << "no integer model may be written";
}

}  // namespace
}  // namespace qg::app
