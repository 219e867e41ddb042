// The whole training loop, wired end to end: a small CNN must drive its loss on one fixed synthetic
// batch close to zero (memorise it). If any backward, the engine, or the optimizer were broken, it could not.
#include <gtest/gtest.h>

#include "nn/functional/loss.h"
#include "nn/layers.h"
#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"

namespace qg::nn {
namespace {

std::shared_ptr<Sequential> small_cnn(Generator& gen) {
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Conv2d>(1, 8, 3, functional::Conv2dOptions{1, 1, 1, 1}, true, gen));
  net->add(std::make_shared<BatchNorm2d>(8));
  net->add(std::make_shared<ReLU>());
  net->add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}));
  net->add(std::make_shared<Conv2d>(8, 8, 3, functional::Conv2dOptions{1, 0, 1, 2}, true, gen));
  net->add(std::make_shared<ReLU>());
  net->add(std::make_shared<AvgPool2d>(functional::Pool2dOptions{2, 2, 0}));
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<Linear>(8 * 2 * 2, 10, true, gen));
  return net;
}

float overfit(Optimizer& optimizer, Sequential& net, const Tensor& x, const std::vector<int64_t>& labels,
              int steps) {
  float loss_value = 0;
  net.train();
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    const Tensor loss = functional::cross_entropy(net(x), labels);
    loss.backward();
    optimizer.step();
    loss_value = loss.item();
  }
  return loss_value;
}

TEST(Overfit, SgdDrivesTheLossOfOneBatchToNearZero) {
  Generator gen(17);
  auto net = small_cnn(gen);
  const Tensor x = Tensor::randn({32, 1, 12, 12}, gen);
  std::vector<int64_t> labels;
  for (int i = 0; i < 32; ++i)
    labels.push_back(i % 10);
  Sgd sgd(net->parameters(), {.lr = 0.1, .momentum = 0.9});
  const float initial = functional::cross_entropy((*net)(x), labels).item();
  const float final_loss = overfit(sgd, *net, x, labels, 300);
  EXPECT_GT(initial, 1.5f);
  EXPECT_LT(final_loss, 0.02f) << "initial loss " << initial;
}

TEST(Overfit, AdamToo) {
  Generator gen(18);
  auto net = small_cnn(gen);
  const Tensor x = Tensor::randn({32, 1, 12, 12}, gen);
  std::vector<int64_t> labels;
  for (int i = 0; i < 32; ++i)
    labels.push_back((i * 7) % 10);
  Adam adam(net->parameters(), {.lr = 0.01});
  EXPECT_LT(overfit(adam, *net, x, labels, 300), 0.02f);
}

}  // namespace
}  // namespace qg::nn

namespace qg::nn {
namespace {

TEST(CrossEntropyLossModule, MatchesTheFunctionalFormForBothReductions) {
  Generator gen(2);
  const Tensor logits = Tensor::randn({4, 10}, gen);
  const std::vector<int64_t> targets{1, 0, 9, 3};
  const float mean = CrossEntropyLoss()(logits, targets).item();
  const float total = CrossEntropyLoss(functional::Reduction::Sum)(logits, targets).item();
  EXPECT_FLOAT_EQ(mean, functional::cross_entropy(logits, targets).item());
  EXPECT_NEAR(total, 4 * mean, 1e-5f);
}

}  // namespace
}  // namespace qg::nn
