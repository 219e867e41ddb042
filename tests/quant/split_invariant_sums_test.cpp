// Split-invariant batch sums (core/batch_reduction.h) at the level of layers, in one process: with the
// switch on, a layer's parameter gradient over a batch is bit for bit the sum (the top of the halving tree)
// of its gradients over the two halves of the batch, and an image's output and input gradient do not
// depend on the other images. That is what makes `mpirun -np 2` write the bytes of `mpirun -np 1`
// (tests/distributed checks the whole runs, with batch norm and the observers' reductions over processes).
// Every layer here is checked against the default sums too, so the test also shows that the property is
// not there by accident (the default sums differ).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/batch_reduction.h"
#include "core/random.h"
#include "nn/functional/conv2d.h"
#include "nn/functional/linear.h"
#include "nn/functional/loss.h"
#include "quant/fake_quantize_learnable.h"

namespace qg {
namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

Tensor rows(const Tensor& t, int64_t begin, int64_t end) {
  return narrow(t, 0, begin, end - begin).detach().contiguous();
}

// A layer on a batch: its output, the input's gradient and the parameters' gradients under the upstream
// gradient `upstream` (as backward(sum(y * upstream)) gives).
struct Pass {
  Tensor output, input_grad;
  std::vector<Tensor> parameter_grads;
};
using Layer = std::function<Tensor(const Tensor& x, const std::vector<Tensor>& parameters)>;

Pass run(const Layer& layer, const Tensor& input, std::vector<Tensor> parameters, const Tensor& upstream) {
  Tensor x = input.detach().clone();
  x.set_requires_grad(true);
  for (Tensor& p : parameters) {
    p = p.detach().clone();
    p.set_requires_grad(true);
  }
  const Tensor y = layer(x, parameters);
  sum(mul(y, upstream)).backward();
  Pass pass{y.detach(), x.grad(), {}};
  for (const Tensor& p : parameters)
    pass.parameter_grads.push_back(p.grad());
  return pass;
}

// Checks the split-invariant property of `layer` on a batch of `shape` cut at `cut` images.
void expect_split_invariant(const std::string& what, const Layer& layer, const Shape& shape,
                            const std::vector<Tensor>& parameters, int64_t cut) {
  Generator gen(21);
  const Tensor x = Tensor::uniform(shape, -1, 1, gen);
  const Pass probe = run(layer, x, parameters, Tensor::zeros({1}));  // for the output's shape
  const Tensor upstream = Tensor::uniform(probe.output.shape(), -1, 1, gen);
  const int64_t batch = shape[0];

  const batch_reduction::ScopedSplitInvariant on;
  const Pass whole = run(layer, x, parameters, upstream);
  const Pass first = run(layer, rows(x, 0, cut), parameters, rows(upstream, 0, cut));
  const Pass second = run(layer, rows(x, cut, batch), parameters, rows(upstream, cut, batch));
  EXPECT_TRUE(same_bits(rows(whole.output, cut, batch), second.output)) << what << ": an image's output";
  EXPECT_TRUE(same_bits(rows(whole.input_grad, cut, batch), second.input_grad)) << what << ": input gradient";
  for (size_t i = 0; i < parameters.size(); ++i) {
    const Tensor halves =
        add(first.parameter_grads[i], second.parameter_grads[i]);  // S(0,B) = S(0,m) + S(m,B)
    EXPECT_TRUE(same_bits(whole.parameter_grads[i], halves)) << what << ": gradient of parameter " << i;
  }
}

// A batch of 30 cut at 15: the halving tree's first split.
constexpr int64_t kBatch = 30, kCut = 15;

TEST(SplitInvariantSums, ConvOnEveryPath) {
  Generator gen(5);
  struct Case {
    std::string name;
    Shape input, weight;
    nn::functional::Conv2dOptions options;
  };
  for (const Case& c :
       {Case{"direct (first layer)", {kBatch, 1, 12, 12}, {6, 1, 3, 3}, {}},
        Case{"shifted", {kBatch, 8, 12, 12}, {8, 8, 3, 3}, {.padding = 1}},
        Case{"im2col (strided)", {kBatch, 8, 12, 12}, {16, 8, 3, 3}, {.stride = 2, .padding = 1}},
        Case{"im2col (5x5)", {kBatch, 4, 12, 12}, {8, 4, 5, 5}, {}}}) {
    const std::vector<Tensor> parameters{Tensor::uniform(c.weight, -0.5, 0.5, gen),
                                         Tensor::uniform({c.weight[0]}, -0.5, 0.5, gen)};
    expect_split_invariant(
        "conv " + c.name,
        [&](const Tensor& x, const std::vector<Tensor>& p) {
          return nn::functional::conv2d(x, p[0], p[1], c.options);
        },
        c.input, parameters, kCut);
  }
}

TEST(SplitInvariantSums, Linear) {
  Generator gen(6);
  expect_split_invariant(
      "linear",
      [](const Tensor& x, const std::vector<Tensor>& p) { return nn::functional::linear(x, p[0], p[1]); },
      {kBatch, 300}, {Tensor::uniform({10, 300}, -0.1, 0.1, gen), Tensor::uniform({10}, -0.1, 0.1, gen)},
      kCut);
}

TEST(SplitInvariantSums, LearnedStepSizeOfAnActivation) {
  const quant::QuantSpec spec{.bits = 3};
  expect_split_invariant(
      "lsq",
      [&](const Tensor& x, const std::vector<Tensor>& p) {
        return quant::fake_quantize_learnable(x, p[0], p[1], spec, 0.05f, /*batch_axis=*/true);
      },
      {kBatch, 4, 5, 5}, {Tensor::full({1}, 0.2f), Tensor::full({1}, 2.0f)}, kCut);
}

// The loss: per image, so its gradient does not depend on the batch; its value (the reported loss) is
// the halving tree of the images' losses.
TEST(SplitInvariantSums, CrossEntropy) {
  Generator gen(7);
  const Tensor logits = Tensor::uniform({kBatch, 10}, -3, 3, gen);
  std::vector<int64_t> labels;
  for (int64_t n = 0; n < kBatch; ++n)
    labels.push_back(n % 10);
  const batch_reduction::ScopedSplitInvariant on;
  const auto loss = [&](int64_t begin, int64_t end) {
    return nn::functional::cross_entropy(rows(logits, begin, end),
                                         std::vector<int64_t>(labels.begin() + begin, labels.begin() + end),
                                         nn::functional::Reduction::Sum)
        .item();
  };
  EXPECT_EQ(loss(0, kBatch), loss(0, kCut) + loss(kCut, kBatch));
}

// Without the switch the default sums are taken (faster, not split-invariant): on these shapes the halves
// do not add up to the whole bit for bit, which shows that the checks above can fail.
TEST(SplitInvariantSums, DefaultSumsAreNotSplitInvariant) {
  Generator gen(8);
  const Tensor x = Tensor::uniform({kBatch, 300}, -1, 1, gen), w = Tensor::uniform({10, 300}, -0.1, 0.1, gen);
  const Tensor upstream = Tensor::uniform({kBatch, 10}, -1, 1, gen);
  const Layer layer = [](const Tensor& in, const std::vector<Tensor>& p) {
    return nn::functional::linear(in, p[0], Tensor());
  };
  const Pass whole = run(layer, x, {w}, upstream);
  const Pass first = run(layer, rows(x, 0, kCut), {w}, rows(upstream, 0, kCut));
  const Pass second = run(layer, rows(x, kCut, kBatch), {w}, rows(upstream, kCut, kBatch));
  EXPECT_FALSE(same_bits(whole.parameter_grads[0], add(first.parameter_grads[0], second.parameter_grads[0])));
}

}  // namespace
}  // namespace qg
