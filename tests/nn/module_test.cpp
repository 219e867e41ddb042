#include <gtest/gtest.h>

#include <cmath>

#include "nn/layers.h"

namespace qg::nn {
namespace {

std::vector<std::string> names_of(const NamedTensors& tensors) {
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors)
    names.push_back(name);
  return names;
}

std::unique_ptr<Sequential> tutorial_net_bn() {
  auto net = std::make_unique<Sequential>();
  net->add(std::make_shared<Conv2d>(1, 4, 3));
  net->add(std::make_shared<BatchNorm2d>(4));
  net->add(std::make_shared<ReLU>());
  net->add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}));
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<Linear>(4 * 3 * 3, 10));
  return net;
}

TEST(Module, NamesParametersAndBuffersLikeTorchSequential) {
  const auto owner = tutorial_net_bn();
  const Sequential& net = *owner;
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"}));
  EXPECT_EQ(names_of(net.named_buffers()),
            (std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"}));
  EXPECT_EQ(net.state().size(), 9u);
  EXPECT_EQ(net.parameter_count(), 4 * 9 + 4 + 4 + 4 + 36 * 10 + 10);
  for (const Tensor& p : net.parameters())
    EXPECT_TRUE(p.requires_grad());
  for (const auto& [name, b] : net.named_buffers())
    EXPECT_FALSE(b.requires_grad()) << name;
}

TEST(Module, TrainAndEvalPropagateToChildren) {
  auto owner = tutorial_net_bn();
  Sequential& net = *owner;
  EXPECT_TRUE(net[1]->is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net[1]->is_training());
  net.train();
  EXPECT_TRUE(net[1]->is_training());
}

TEST(Module, RegisteredTensorsAliasTheMembers) {
  Conv2d conv(2, 3, 3);
  conv.named_parameters()[0].second.fill(0.5f);
  EXPECT_EQ(conv.weight.at({0, 0, 0, 0}), 0.5f);
}

TEST(Init, DistributedAsPytorchDefaults) {
  // kaiming_uniform(a=sqrt 5) and the bias both draw from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  Generator gen(3);
  Conv2d conv(40, 40, 3, {1, 0, 1, 20}, true, gen);  // fan_in = 40/20 * 9 = 18
  const float bound = 1.0f / std::sqrt(18.0f);
  double sum_sq = 0;
  for (float w : conv.weight.to_vector()) {
    EXPECT_LE(std::abs(w), bound);
    sum_sq += w * w;
  }
  // The variance of U(-b, b) is b^2/3; 720 samples estimate it to within ~10%.
  EXPECT_NEAR(sum_sq / conv.weight.numel(), bound * bound / 3, 0.15 * bound * bound / 3);
  for (float b : conv.bias.to_vector())
    EXPECT_LE(std::abs(b), bound);
  Linear fc(1000, 10, true, gen);
  for (float w : fc.weight.to_vector())
    EXPECT_LE(std::abs(w), 1.0f / std::sqrt(1000.0f));
}

TEST(Module, ConstructorArgumentsAreValidated) {
  EXPECT_THROW(Conv2d(40, 40, 3, {1, 0, 1, 3}), std::invalid_argument);  // 40 % 3 != 0
  EXPECT_THROW(Conv2d(1, 4, 0), std::invalid_argument);
  EXPECT_THROW(Linear(0, 3), std::invalid_argument);
  EXPECT_THROW(BatchNorm2d(0), std::invalid_argument);
}

TEST(Module, DescribeReadsLikePytorch) {
  EXPECT_EQ(Conv2d(40, 40, 3, {1, 0, 1, 20}).describe(),
            "Conv2d(40, 40, kernel_size=3, stride=1, groups=20)");
  EXPECT_EQ(Linear(1000, 10).describe(), "Linear(in_features=1000, out_features=10)");
  EXPECT_EQ(MaxPool2d({2, 2, 0}).describe(), "MaxPool2d(kernel_size=2, stride=2, padding=0)");
}

}  // namespace
}  // namespace qg::nn
