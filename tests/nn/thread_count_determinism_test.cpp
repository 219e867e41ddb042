// The fast kernels share each batch between threads but give every thread a fixed share of the work and
// add partial results in a fixed order, so training is bit-for-bit the same on any thread count.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/parallel.h"
#include "nn/functional/loss.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"

namespace qg::nn {
namespace {

// The tutorial's two models on 16x16 inputs: conv, [batch norm], relu, pool, conv (grouped or with batch
// norm), relu, pool, linear.
std::shared_ptr<Sequential> tutorial_model(bool batch_norm, uint64_t seed) {
  Generator gen(seed);
  auto model = std::make_shared<Sequential>();
  model->add(std::make_shared<Conv2d>(1, 8, 3, functional::Conv2dOptions{}, true, gen));
  if (batch_norm) model->add(std::make_shared<BatchNorm2d>(8));
  model->add(std::make_shared<ReLU>());
  model->add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2}));
  const int64_t groups = batch_norm ? 1 : 4;
  model->add(std::make_shared<Conv2d>(8, 8, 3, functional::Conv2dOptions{1, 0, 1, groups}, true, gen));
  if (batch_norm) model->add(std::make_shared<BatchNorm2d>(8));
  model->add(std::make_shared<ReLU>());
  model->add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2}));
  model->add(std::make_shared<Flatten>());
  model->add(std::make_shared<Linear>(8 * 2 * 2, 10, true, gen));
  return model;
}

// The parameters after a few SGD steps on fixed random batches with `threads` threads.
std::vector<std::vector<float>> train(bool batch_norm, int threads) {
  const int saved = parallel::num_threads();
  parallel::set_num_threads(threads);
  auto model = tutorial_model(batch_norm, 7);
  Sgd sgd(model->parameters(), {0.05, 0.5, 0.0, false});
  Generator data(11);
  for (int step = 0; step < 4; ++step) {
    const Tensor x = Tensor::uniform({37, 1, 16, 16}, -1, 1, data);  // 37: slices of unequal size
    std::vector<int64_t> labels;
    for (int i = 0; i < 37; ++i)
      labels.push_back(static_cast<int64_t>(data.below(10)));
    sgd.zero_grad();
    functional::cross_entropy((*model)(x), labels).backward();
    sgd.step();
  }
  parallel::set_num_threads(saved);
  std::vector<std::vector<float>> values;
  for (const Tensor& p : model->parameters())
    values.push_back(p.to_vector());
  return values;
}

TEST(ThreadCount, TrainingIsBitIdenticalOnOneTwoAndThreeThreads) {
  for (const bool batch_norm : {false, true}) {
    const auto one = train(batch_norm, 1);
    EXPECT_EQ(train(batch_norm, 2), one) << (batch_norm ? "with" : "without") << " batch norm";
    EXPECT_EQ(train(batch_norm, 3), one) << (batch_norm ? "with" : "without") << " batch norm";
    // The parameters did move: the comparison is not between untouched initial values.
    std::vector<std::vector<float>> initial;
    for (const Tensor& p : tutorial_model(batch_norm, 7)->parameters())
      initial.push_back(p.to_vector());
    EXPECT_NE(one, initial);
  }
}

}  // namespace
}  // namespace qg::nn
