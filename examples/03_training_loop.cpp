// Chapter 3 of the course (docs/tutorial/03-training-loop.md): a layer and a training loop written by hand,
// then the same network with the library's nn modules and optimizer.
//
//   build/examples/03_training_loop                 one epoch on MNIST (data/mnist, or --data DIR)
//   build/examples/03_training_loop --test          a few epochs on a small synthetic digit set made in
//                                                   memory; exits non-zero if a claim of the chapter fails
//
// The network is a two-layer perceptron, 784 -> 100 -> ReLU -> 10, trained with plain SGD on cross-entropy.
// The nn version starts from the hand-written version's initial weights and sees the same batches, so the
// two must print the same losses (up to float rounding): the modules do nothing the hand-written code did not.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"  // NoGradGuard
#include "autograd/ops.h"        // matmul, transpose, flatten, argmax, +
#include "check.h"
#include "core/kernels/elementwise.h"  // kernel::axpy for the in-place SGD update
#include "core/random.h"               // Generator
#include "core/tensor.h"
#include "datasets/data_loader.h"       // DataLoader, Batch
#include "datasets/mnist.h"             // MnistDataset
#include "datasets/synthetic_digits.h"  // synthetic_digits: --test's data, made in memory
#include "nn/functional/activation.h"
#include "nn/functional/loss.h"  // cross_entropy
#include "nn/layers.h"           // nn::Sequential, nn::Linear, nn::ReLU, nn::Flatten
#include "nn/optim/sgd.h"        // nn::Sgd

using qg::Tensor;
namespace F = qg::nn::functional;

namespace {

struct Options {
  bool test = false;
  std::string data_dir = "data/mnist";
};

// ---- A layer by hand ---------------------------------------------------------------------------------
//
// y = x Wᵀ + b,   x [N, in], W [out, in], b [out], y [N, out]
//
// Two parameters: leaf tensors with requires_grad, so backward() fills their .grad. The initialisation is
// PyTorch's nn.Linear default: every weight and bias uniform in ±1/√in.
struct HandLinear {
  Tensor weight, bias;

  HandLinear(int64_t in, int64_t out, qg::Generator& gen) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    weight = Tensor::uniform({out, in}, -bound, bound, gen);
    bias = Tensor::uniform({out}, -bound, bound, gen);
    weight.set_requires_grad(true);
    bias.set_requires_grad(true);
  }
  // matmul and + record the graph; transpose is a view (chapter 1), + broadcasts b over the rows.
  Tensor forward(const Tensor& x) const { return qg::matmul(x, qg::transpose(weight, 0, 1)) + bias; }
};

struct HandMlp {
  HandLinear fc1, fc2;
  HandMlp(qg::Generator& gen) : fc1(784, 100, gen), fc2(100, 10, gen) {}
  Tensor forward(const Tensor& images) const {  // images [N, 1, 28, 28] -> logits [N, 10]
    const Tensor x = qg::flatten(images);       // [N, 784]
    return fc2.forward(F::relu(fc1.forward(x)));
  }
  std::vector<Tensor> parameters() const { return {fc1.weight, fc1.bias, fc2.weight, fc2.bias}; }
};

// ---- The loop's pieces by hand -------------------------------------------------------------------------

void zero_grad(const std::vector<Tensor>& parameters) {
  for (Tensor p : parameters)
    p.zero_grad();  // gradients accumulate (+=) across backward calls: start every step from none
}

// p ← p − lr · ∂L/∂p. No graph: updating a parameter is not part of the model.
void sgd_step(const std::vector<Tensor>& parameters, float lr) {
  qg::NoGradGuard no_grad;
  for (Tensor p : parameters)
    qg::kernel::axpy(p, p.grad(), -lr);
}

struct Accuracy {
  int64_t correct = 0, total = 0;
  double percent() const { return total ? 100.0 * correct / total : 0.0; }
};

// Runs `forward` over the dataset without recording a graph and counts argmax == label.
template <class Forward>
Accuracy evaluate(Forward&& forward, const qg::data::MnistDataset& test_set) {
  qg::NoGradGuard no_grad;
  Accuracy accuracy;
  const qg::data::DataLoader loader(test_set, {.batch_size = 1000});
  for (const qg::data::Batch& batch : loader.epoch(0)) {
    const Tensor predicted = qg::argmax(forward(batch.images), 1);  // [N], class indices as floats
    for (int64_t i = 0; i < batch.size(); ++i)
      accuracy.correct += static_cast<int64_t>(predicted.at({i})) == batch.labels[i];
    accuracy.total += batch.size();
  }
  return accuracy;
}

// ---- The run -------------------------------------------------------------------------------------------

using course::check;

int run(const Options& options) {
  using namespace qg::data;
  const MnistDataset train_set = options.test
                                     ? synthetic_digits(512, 1)
                                     : MnistDataset(DatasetKind::kMnist, Split::kTrain, options.data_dir);
  const MnistDataset test_set = options.test
                                    ? synthetic_digits(256, 2)
                                    : MnistDataset(DatasetKind::kMnist, Split::kTest, options.data_dir);
  const int64_t epochs = options.test ? 3 : 1;
  const int64_t log_every = options.test ? 8 : 150;
  const float lr = 0.1f;
  std::printf("data: %s, %lld training and %lld test images; %lld epoch(s) of batches of 64, SGD lr %g\n",
              train_set.name().c_str(), static_cast<long long>(train_set.size()),
              static_cast<long long>(test_set.size()), static_cast<long long>(epochs), lr);
  const DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 1});

  // The hand-written network.
  qg::Generator gen(7);
  const HandMlp hand(gen);

  // The same network from the library's modules, starting from the same weights.
  auto model = std::make_shared<qg::nn::Sequential>();
  model->add(std::make_shared<qg::nn::Flatten>());
  auto fc1 = model->add(std::make_shared<qg::nn::Linear>(784, 100));
  model->add(std::make_shared<qg::nn::ReLU>());
  auto fc2 = model->add(std::make_shared<qg::nn::Linear>(100, 10));
  fc1->weight.copy_from(hand.fc1.weight);
  fc1->bias.copy_from(hand.fc1.bias);
  fc2->weight.copy_from(hand.fc2.weight);
  fc2->bias.copy_from(hand.fc2.bias);
  qg::nn::Sgd sgd(model->parameters(), {.lr = lr});

  std::printf("\n%6s %6s %12s %12s\n", "epoch", "step", "loss (hand)", "loss (nn)");
  const auto start = std::chrono::steady_clock::now();
  double first_loss = 0, last_loss = 0, max_difference = 0;
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    for (const Batch& batch : loader.epoch(epoch)) {
      // By hand: forward, loss, zero_grad, backward, step.
      const Tensor logits = hand.forward(batch.images);
      const Tensor loss = F::cross_entropy(logits, batch.labels);
      zero_grad(hand.parameters());
      loss.backward();
      sgd_step(hand.parameters(), lr);

      // The library's way: the same five steps.
      model->train();
      sgd.zero_grad();
      const Tensor nn_loss = F::cross_entropy((*model)(batch.images), batch.labels);
      nn_loss.backward();
      sgd.step();

      if (step == 0) first_loss = loss.item();
      last_loss = loss.item();
      max_difference = std::max(max_difference, static_cast<double>(std::abs(loss.item() - nn_loss.item())));
      if (step % log_every == 0) {
        std::printf("%6lld %6lld %12.4f %12.4f\n", static_cast<long long>(epoch + 1),
                    static_cast<long long>(step), loss.item(), nn_loss.item());
      }
      ++step;
    }
  }
  const Accuracy hand_accuracy = evaluate([&](const Tensor& x) { return hand.forward(x); }, test_set);
  model->eval();
  const Accuracy nn_accuracy = evaluate([&](const Tensor& x) { return (*model)(x); }, test_set);
  std::fprintf(stderr, "03_training_loop: %.1f s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::printf("\nafter %lld steps: last batch loss %.4f (first %.4f)\n", static_cast<long long>(step),
              last_loss, first_loss);
  std::printf("test accuracy: hand-written %lld/%lld = %.2f%%, nn modules %lld/%lld = %.2f%%\n",
              static_cast<long long>(hand_accuracy.correct), static_cast<long long>(hand_accuracy.total),
              hand_accuracy.percent(), static_cast<long long>(nn_accuracy.correct),
              static_cast<long long>(nn_accuracy.total), nn_accuracy.percent());
  std::printf("largest loss difference hand vs nn over all steps: %s\n",
              max_difference < 1e-4 ? "< 1e-4" : "LARGE");

  check(max_difference < 1e-4, "the nn version computes the hand-written version's losses");
  check(last_loss < 0.5 * first_loss, "training lowers the loss");
  check(hand_accuracy.percent() > 90.0 && nn_accuracy.percent() > 90.0, "test accuracy above 90%");
  return course::failures() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--test") {
      options.test = true;
    } else if (arg == "--data" && i + 1 < argc) {
      options.data_dir = argv[++i];
    } else {
      std::fprintf(stderr, "03_training_loop: unknown argument '%s' (expected: --test, --data DIR)\n",
                   argv[i]);
      return 2;
    }
  }
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "03_training_loop: %s\n", error.what());
    return 1;
  }
}
