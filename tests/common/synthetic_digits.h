// The synthetic digit set (datasets/synthetic_digits.h) in the shape the quantization tests use it: pixels
// and labels in plain vectors, batches as normalised tensors. A small CNN learns it in a few dozen steps,
// which gives the conversion tests a *trained* model with confident, realistic logits. Also the tutorial's
// Net and a few SGD steps on these digits.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/random.h"
#include "core/tensor.h"
#include "datasets/synthetic_digits.h"
#include "nn/functional/loss.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"

namespace qg::testing {

struct SyntheticDigits {
  static constexpr int64_t kSide = 28, kPixels = 28 * 28, kClasses = 10;
  static constexpr float kMean = 0.1307f, kStd = 0.3081f;  // MNIST's normalisation

  std::vector<uint8_t> pixels;  // n * 784
  std::vector<int64_t> labels;

  /// data::synthetic_digits(n, seed), image by image.
  SyntheticDigits(int64_t n, uint64_t seed) {
    const data::MnistDataset set = data::synthetic_digits(n, seed);
    for (int64_t i = 0; i < set.size(); ++i) {
      pixels.insert(pixels.end(), set.image(i), set.image(i) + kPixels);
      labels.push_back(set.label(i));
    }
  }

  int64_t size() const { return static_cast<int64_t>(labels.size()); }

  /// Images [end - begin, 1, 28, 28], normalised as the DataLoader does.
  Tensor images(int64_t begin, int64_t end) const {
    Tensor t = Tensor::zeros({end - begin, 1, kSide, kSide});
    float* out = t.data();
    for (int64_t i = begin * kPixels; i < end * kPixels; ++i)
      *out++ = (pixels[i] / 255.0f - kMean) / kStd;
    return t;
  }
  std::vector<int64_t> batch_labels(int64_t begin, int64_t end) const {
    return {labels.begin() + begin, labels.begin() + end};
  }
};

/// The tutorial's Net (with_bn = false) or NetBN (true), seeded.
inline std::shared_ptr<nn::Sequential> tutorial_net(bool with_bn, uint64_t seed) {
  using namespace nn;
  Generator gen(seed);
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Conv2d>(1, 40, 3, functional::Conv2dOptions{}, true, gen));
  if (with_bn) net->add(std::make_shared<BatchNorm2d>(40));
  net->add(std::make_shared<ReLU>());
  net->add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}));
  net->add(
      std::make_shared<Conv2d>(40, 40, 3, functional::Conv2dOptions{1, 0, 1, with_bn ? 1 : 20}, true, gen));
  if (with_bn) net->add(std::make_shared<BatchNorm2d>(40));
  net->add(std::make_shared<ReLU>());
  net->add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}));
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<Linear>(1000, 10, true, gen));
  return net;
}

/// A few SGD steps on batches of 64; returns the last loss.
inline float train_steps(nn::Module& model, const SyntheticDigits& data, int64_t steps, double lr = 0.05) {
  nn::Sgd sgd(model.parameters(), {.lr = lr, .momentum = 0.5});
  model.train();
  float last = 0;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t begin = (s * 64) % (data.size() - 64);
    sgd.zero_grad();
    const Tensor loss = nn::functional::cross_entropy(model(data.images(begin, begin + 64)),
                                                      data.batch_labels(begin, begin + 64));
    loss.backward();
    sgd.step();
    last = loss.item();
  }
  return last;
}

}  // namespace qg::testing
