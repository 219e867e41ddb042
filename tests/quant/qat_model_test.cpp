#include <gtest/gtest.h>

#include "common/synthetic_digits.h"
#include "quant/qat/passthrough.h"
#include "quant/qat/qconv2d.h"
#include "quant/qat/qconv_bn_relu.h"
#include "quant/qat/qlinear.h"
#include "quant/qat_model.h"

namespace qg::quant {
namespace {

std::vector<std::string> types(const QatModel& m) {
  std::vector<std::string> out;
  for (const auto& l : m.layers())
    out.push_back(l->type_name());
  return out;
}

TEST(PrepareQat, MatchesTheTutorialsModules) {
  auto net = qg::testing::tutorial_net(false, 1);
  EXPECT_EQ(types(*prepare_qat(*net, QuantSettings{})),
            (std::vector<std::string>{"QConv2d", "QReLU", "QMaxPool2d", "QConv2d", "QReLU", "QMaxPool2d",
                                      "QFlatten", "QLinear"}));
  auto bn = qg::testing::tutorial_net(true, 1);
  EXPECT_EQ(types(*prepare_qat(*bn, QuantSettings{})),
            (std::vector<std::string>{"QConvBNReLU", "QMaxPool2d", "QConvBNReLU", "QMaxPool2d", "QFlatten",
                                      "QLinear"}));
}

TEST(PrepareQat, OnlyTheFirstLayerQuantizesTheInput) {
  auto net = qg::testing::tutorial_net(false, 1);
  auto qat = prepare_qat(*net, QuantSettings{});
  EXPECT_TRUE(std::dynamic_pointer_cast<QConv2d>(qat->layers()[0])->input != nullptr);
  EXPECT_FALSE(std::dynamic_pointer_cast<QConv2d>(qat->layers()[3])->input != nullptr);
  EXPECT_FALSE(std::dynamic_pointer_cast<QLinear>(qat->layers()[7])->input != nullptr);
}

TEST(PrepareQat, SharesParametersWithTheFloatModel) {
  auto net = qg::testing::tutorial_net(true, 1);
  auto qat = prepare_qat(*net, QuantSettings{});
  const auto float_params = net->parameters();
  const auto qat_params = qat->parameters();
  ASSERT_EQ(float_params.size(), qat_params.size());
  for (size_t i = 0; i < float_params.size(); ++i)
    EXPECT_TRUE(float_params[i].shares_storage_with(qat_params[i]));
}

TEST(PrepareQat, RejectsUnquantizableModels) {
  nn::Sequential relu_only;
  relu_only.add(std::make_shared<nn::ReLU>());
  EXPECT_THROW(prepare_qat(relu_only, QuantSettings{}), std::invalid_argument);
  nn::Sequential nothing_to_quantize;  // every layer maps codes to codes: no grid anywhere
  nothing_to_quantize.add(std::make_shared<nn::MaxPool2d>(nn::functional::Pool2dOptions{2, 2, 0}));
  nothing_to_quantize.add(std::make_shared<nn::Flatten>());
  EXPECT_THROW(prepare_qat(nothing_to_quantize, QuantSettings{}), std::invalid_argument);
  nn::Sequential nested;  // a layer kind with no quantized form
  nested.add(std::make_shared<nn::Sequential>());
  EXPECT_THROW(prepare_qat(nested, QuantSettings{}), std::invalid_argument);
  QuantSettings bad;
  bad.activation.bits = 9;
  auto net = qg::testing::tutorial_net(false, 1);
  EXPECT_THROW(prepare_qat(*net, bad), std::invalid_argument);
}

TEST(QatModel, FreezeStopsObserversAndFixesParameters) {
  const qg::testing::SyntheticDigits data(128, 3);
  auto net = qg::testing::tutorial_net(false, 2);
  auto qat = prepare_qat(*net, QuantSettings{});
  qat->set_observing(true);
  NoGradGuard no_grad;
  (*qat)(data.images(0, 64));
  qat->freeze();
  const auto conv = std::dynamic_pointer_cast<QConv2d>(qat->layers()[0]);
  const QParams before = conv->output->qparams();
  (*qat)(data.images(64, 128).detach() * 10.0f);  // a much wider range: must not move frozen parameters
  EXPECT_EQ(conv->output->qparams().scale, before.scale);
  EXPECT_THROW(qat->set_observing(true), std::logic_error);
}

TEST(QConvBNReLU, TrainModeUpdatesRunningStatisticsLikePytorch) {
  auto net = qg::testing::tutorial_net(true, 5);
  auto qat = prepare_qat(*net, QuantSettings{});
  auto layer = std::dynamic_pointer_cast<QConvBNReLU>(qat->layers()[0]);
  const qg::testing::SyntheticDigits data(32, 4);
  const Tensor x = data.images(0, 32);
  qat->train();
  qat->set_observing(true);
  (*qat)(x);
  // Expected: running = 0.9 * init + 0.1 * batch statistic (unbiased variance), from a plain conv of the
  // fake-quantized input the layer saw.
  NoGradGuard no_grad;
  const Tensor y = layer->conv->forward(fake_quantize(x, layer->input->qparams()));
  const int64_t count = 32 * 26 * 26;
  for (int64_t c = 0; c < 40; c += 13) {
    double mean = 0, sq = 0;
    for (int64_t n = 0; n < 32; ++n)
      for (int64_t h = 0; h < 26; ++h)
        for (int64_t w = 0; w < 26; ++w)
          mean += y.at({n, c, h, w});
    mean /= count;
    for (int64_t n = 0; n < 32; ++n)
      for (int64_t h = 0; h < 26; ++h)
        for (int64_t w = 0; w < 26; ++w)
          sq += std::pow(y.at({n, c, h, w}) - mean, 2);
    EXPECT_NEAR(layer->bn->running_mean.at({c}), 0.1 * mean, 1e-5);
    EXPECT_NEAR(layer->bn->running_var.at({c}), 0.9 + 0.1 * sq / (count - 1), 1e-4);
  }
  EXPECT_EQ(layer->bn->num_batches_tracked.item(), 1.0f);
}

TEST(QatModel, QatTrainingReducesTheLoss) {
  const qg::testing::SyntheticDigits data(512, 6);
  auto net = qg::testing::tutorial_net(true, 3);
  auto qat = prepare_qat(*net, QuantSettings{});
  qat->set_observing(true);
  nn::Sgd sgd(qat->parameters(), {.lr = 0.05, .momentum = 0.5});
  float first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    const int64_t b = (step * 64) % 448;
    sgd.zero_grad();
    const Tensor loss =
        nn::functional::cross_entropy((*qat)(data.images(b, b + 64)), data.batch_labels(b, b + 64));
    loss.backward();
    sgd.step();
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  EXPECT_LT(last, first * 0.5f) << "first " << first << " last " << last;
}

}  // namespace
}  // namespace qg::quant
