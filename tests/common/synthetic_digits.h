// A small synthetic stand-in for MNIST used by the quantization tests: ten fixed random 28x28 "prototype"
// images, and samples that are a prototype plus noise, as uint8 pixels. A small CNN learns it in a
// few dozen steps, which gives the conversion tests a *trained* model with confident, realistic logits.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/random.h"
#include "core/tensor.h"
#include "nn/functional/loss.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"

namespace qg::testing {

struct SyntheticDigits {
  static constexpr int64_t kSide = 28, kPixels = 28 * 28, kClasses = 10;
  static constexpr float kMean = 0.1307f, kStd = 0.3081f;  // MNIST's normalisation

  std::vector<uint8_t> pixels;  // n * 784
  std::vector<int64_t> labels;

  SyntheticDigits(int64_t n, uint64_t seed) {
    Generator prototypes_gen(12345);  // the same ten prototypes for every set
    std::vector<float> prototypes(kClasses * kPixels);
    for (float& p : prototypes)
      p = prototypes_gen.uniform(0.0f, 1.0f) < 0.2f ? 1.0f : 0.0f;
    Generator gen(seed);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t label = static_cast<int64_t>(gen.below(kClasses));
      labels.push_back(label);
      for (int64_t p = 0; p < kPixels; ++p) {
        const float v = 0.8f * prototypes[label * kPixels + p] + gen.uniform(0.0f, 0.35f);
        pixels.push_back(static_cast<uint8_t>(std::min(255.0f, v * 255.0f)));
      }
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
