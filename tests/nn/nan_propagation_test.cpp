// NaN propagation (issue 10, item 1): every element-wise op, pooling, clamp, reduction and loss passes a NaN
// on, forward and backward, so that a diverged value reaches the loss and the training's non-finite guard
// instead of being mapped to a finite number. The expected values are PyTorch's semantics, written out:
//   torch.relu(nan) = nan, its gradient at nan passes the incoming one (threshold_backward: x <= 0 ? 0 : g);
//   torch.clamp(nan, lo, hi) = nan; max_pool2d over a window holding a nan gives nan, and its gradient goes
//   to the nan; torch.max / min over values holding a nan give nan; torch.argmax gives the first nan's
//   index; log_softmax / cross_entropy of a row holding a nan give nan.
// Sizes are chosen to hit every code path of the vectorised kernels: scalar tails, 4- and 8-lane blocks, and
// tensors big enough to be split between threads.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/kernels/value_range.h"
#include "nn/functional.h"

namespace qg {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// n values in [-2, 2) (half of them negative), with NaN at the positions in `nans`.
Tensor values_with_nans(int64_t n, const std::vector<int64_t>& nans) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>((i * 37) % 64) / 16.0f - 2.0f;
  for (const int64_t i : nans)
    v.at(static_cast<size_t>(i)) = kNaN;
  return Tensor::from_vector(v, {n});
}

// Positions that land in the first lane, a middle lane, the last full block and the scalar tail (for
// n >= 16; the first, middle and last element of shorter tensors).
std::vector<int64_t> nan_positions(int64_t n) {
  if (n < 16) return {0, n / 2, n - 1};
  return {0, 5, n / 2, n - 9, n - 1};
}

// Lengths: shorter than one vector, a few vectors plus a tail, and above the threading threshold (2^15).
const int64_t kLengths[] = {3, 37, (int64_t{1} << 16) + 5};

TEST(NaNPropagation, ReluKeepsNaNAndIsMaxWithZeroElsewhere) {
  for (const int64_t n : kLengths) {
    const std::vector<int64_t> nans = nan_positions(n);
    const Tensor x = values_with_nans(n, nans);
    const std::vector<float> y = kernel::relu(x).to_vector(), in = x.to_vector();
    for (int64_t i = 0; i < n; ++i) {
      const float v = in[static_cast<size_t>(i)];
      if (std::isnan(v)) {
        EXPECT_TRUE(std::isnan(y[static_cast<size_t>(i)])) << "n " << n << " at " << i;
      } else {
        EXPECT_EQ(y[static_cast<size_t>(i)], v > 0 ? v : 0.0f) << "n " << n << " at " << i;
      }
    }
  }
}

TEST(NaNPropagation, ReluGradientPassesAtNaNAsThresholdBackward) {
  for (const int64_t n : kLengths) {
    const Tensor x = values_with_nans(n, nan_positions(n));
    const Tensor g = Tensor::full({n}, 3.0f);
    const std::vector<float> dx = kernel::relu_backward(g, x).to_vector(), in = x.to_vector();
    for (int64_t i = 0; i < n; ++i) {
      const float v = in[static_cast<size_t>(i)];
      const float expected = (!std::isnan(v) && v <= 0.0f) ? 0.0f : 3.0f;  // torch: x <= 0 ? 0 : g
      EXPECT_EQ(dx[static_cast<size_t>(i)], expected) << "n " << n << " at " << i;
    }
  }
  // Through autograd: the NaN output makes the loss NaN, and the gradient below the ReLU is NaN too.
  Tensor x = Tensor::from_vector({1.0f, kNaN, -1.0f}, {3});
  x.set_requires_grad(true);
  const Tensor loss = sum(nn::functional::relu(x));
  EXPECT_TRUE(std::isnan(loss.item()));
  loss.backward();
  EXPECT_EQ(x.grad().to_vector()[0], 1.0f);
  EXPECT_EQ(x.grad().to_vector()[1], 1.0f);
  EXPECT_EQ(x.grad().to_vector()[2], 0.0f);
}

TEST(NaNPropagation, Relu6KeepsNaNAndPassesItsGradientOnAsHardtanhBackward) {
  // torch.nn.functional.relu6(nan) = nan; its gradient is hardtanh_backward's x <= 0 || x >= 6 ? 0 : g,
  // which passes g at a NaN (and gives 0 at exactly 0 and 6).
  for (const int64_t n : kLengths) {
    const std::vector<int64_t> nans = nan_positions(n);
    Tensor in = kernel::mul_scalar(values_with_nans(n, nans), 4.0f);  // steps of 0.25 in [-8, 8): 0 and 6 too
    in.set_requires_grad(true);
    const Tensor y = nn::functional::relu6(in);
    y.backward(Tensor::full({n}, 3.0f));
    const std::vector<float> out = y.to_vector(), v = in.to_vector(), dx = in.grad().to_vector();
    for (int64_t i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(i);
      if (std::isnan(v[k])) {
        EXPECT_TRUE(std::isnan(out[k])) << "n " << n << " at " << i;
        EXPECT_EQ(dx[k], 3.0f) << "n " << n << " at " << i;
      } else {
        EXPECT_EQ(out[k], std::fmin(std::fmax(v[k], 0.0f), 6.0f)) << "n " << n << " at " << i;
        EXPECT_EQ(dx[k], (v[k] <= 0.0f || v[k] >= 6.0f) ? 0.0f : 3.0f) << "n " << n << " at " << i;
      }
    }
  }
}

TEST(NaNPropagation, ClampKeepsNaN) {
  for (const int64_t n : kLengths) {
    const Tensor x = values_with_nans(n, nan_positions(n));
    const std::vector<float> y = kernel::clamp(x, -0.5f, 0.5f).to_vector(), in = x.to_vector();
    for (int64_t i = 0; i < n; ++i) {
      const float v = in[static_cast<size_t>(i)];
      if (std::isnan(v)) {
        EXPECT_TRUE(std::isnan(y[static_cast<size_t>(i)])) << i;
      } else {
        EXPECT_EQ(y[static_cast<size_t>(i)], std::fmin(std::fmax(v, -0.5f), 0.5f)) << i;
      }
    }
  }
}

TEST(NaNPropagation, EveryElementWiseOpGivesNaNForNaN) {
  const Tensor x = values_with_nans(37, {0, 20, 36});
  const Tensor other = Tensor::full({37}, 0.5f);
  const std::vector<std::pair<const char*, Tensor>> results = {{"add", add(x, other)},
                                                               {"sub", sub(other, x)},
                                                               {"mul", mul(x, other)},
                                                               {"div", div(other, x)},
                                                               {"neg", neg(x)},
                                                               {"add_scalar", add_scalar(x, 1.0f)},
                                                               {"mul_scalar", mul_scalar(x, 2.0f)},
                                                               {"exp", exp(x)},
                                                               {"pow", pow(x, 2.0f)},
                                                               {"sqrt of x^2", sqrt(mul(x, x))},
                                                               {"log of x^2", log(mul(x, x))}};
  for (const auto& [name, y] : results) {
    const std::vector<float> v = y.to_vector();
    for (const size_t i : {0u, 20u, 36u})
      EXPECT_TRUE(std::isnan(v[i])) << name << " at " << i;
  }
}

// A [1, 1, 2, W] plane: max_pool2d 2x2 has one output per column pair. A NaN at window position `at`
// (0..3: top-left, top-right, bottom-left, bottom-right) of output column `column`.
Tensor plane_with_nan(int64_t width, int64_t column, int at) {
  std::vector<float> v(static_cast<size_t>(2 * width));
  for (int64_t i = 0; i < 2 * width; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>(i % 7) - 3.0f;
  const int64_t row = at / 2, col = 2 * column + at % 2;
  v[static_cast<size_t>(row * width + col)] = kNaN;
  return Tensor::from_vector(v, {1, 1, 2, width});
}

TEST(NaNPropagation, MaxPool2x2GivesNaNForAWindowHoldingOneAndRoutesTheGradientThere) {
  // Widths 6 (scalar loop: 3 outputs), 10 (4-lane blocks: 5 outputs) and 34 (8-lane blocks: 17 outputs).
  for (const int64_t width : {6, 10, 34}) {
    const int64_t outputs = width / 2;
    for (const int64_t column : {int64_t{0}, outputs / 2, outputs - 1}) {
      for (int at = 0; at < 4; ++at) {
        Tensor x = plane_with_nan(width, column, at);
        x.set_requires_grad(true);
        const Tensor y = nn::functional::max_pool2d(x, {.kernel_size = 2});
        const std::vector<float> out = y.to_vector();
        for (int64_t j = 0; j < outputs; ++j)
          EXPECT_EQ(std::isnan(out[static_cast<size_t>(j)]), j == column)
              << width << " " << column << " " << at;
        y.backward(Tensor::ones(y.shape()));
        const std::vector<float> dx = x.grad().to_vector();
        const int64_t nan_index = (at / 2) * width + 2 * column + at % 2;
        EXPECT_EQ(dx[static_cast<size_t>(nan_index)], 1.0f) << "the gradient goes to the NaN";
      }
    }
  }
}

TEST(NaNPropagation, MaxPoolOfAnyWindowGivesNaN) {
  // kernel 3, stride 1, padding 1 over a 5x5 plane with a NaN at (2, 3): the nine windows centred on
  // (1..3, 2..4) hold it.
  std::vector<float> v(25);
  for (int i = 0; i < 25; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>(i);
  v[2 * 5 + 3] = kNaN;
  const Tensor y = nn::functional::max_pool2d(Tensor::from_vector(v, {1, 1, 5, 5}),
                                              {.kernel_size = 3, .stride = 1, .padding = 1});
  const std::vector<float> out = y.to_vector();
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) {
      const bool holds = std::abs(r - 2) <= 1 && std::abs(c - 3) <= 1;
      EXPECT_EQ(std::isnan(out[static_cast<size_t>(r * 5 + c)]), holds) << r << "," << c;
    }
  }
}

TEST(NaNPropagation, AvgPoolAndBatchNormAndConvPassNaNOn) {
  const Tensor x = Tensor::from_vector({1, 2, 3, kNaN, 5, 6, 7, 8}, {1, 2, 2, 2});  // NaN in channel 0
  const std::vector<float> avg = nn::functional::avg_pool2d(x, {.kernel_size = 2}).to_vector();
  EXPECT_TRUE(std::isnan(avg[0]));
  EXPECT_FLOAT_EQ(avg[1], 6.5f);
  const Tensor two = Tensor::from_vector({1, 2, 3, kNaN, 5, 6, 7, 8, 1, 1, 1, 1, 2, 2, 2, 2}, {2, 2, 2, 2});
  const std::vector<float> bn =
      nn::functional::batch_norm(two, Tensor::zeros({2}), Tensor::ones({2}), Tensor(), Tensor(), {})
          .to_vector();
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(std::isnan(bn[static_cast<size_t>(i)])) << "channel 0 of image 0";
  EXPECT_FALSE(std::isnan(bn[4])) << "channel 1 has no NaN";
  // A NaN bias: the whole output channel is NaN (the checkpoint).
  const Tensor conv = nn::functional::conv2d(Tensor::ones({1, 1, 3, 3}), Tensor::ones({2, 1, 2, 2}),
                                             Tensor::from_vector({0.0f, kNaN}, {2}), {});
  const std::vector<float> c = conv.to_vector();
  for (int i = 0; i < 4; ++i) {
    EXPECT_FLOAT_EQ(c[static_cast<size_t>(i)], 4.0f);
    EXPECT_TRUE(std::isnan(c[static_cast<size_t>(4 + i)]));
  }
}

TEST(NaNPropagation, GlobalAvgPoolGivesNaNForAPlaneHoldingOne) {
  // Planes of 7x7 (eight-lane blocks plus a tail): a NaN anywhere in a plane makes that plane's mean NaN
  // and no other.
  for (const int64_t at : {int64_t{0}, int64_t{20}, int64_t{48}}) {
    std::vector<float> v(3 * 49, 1.0f);
    v[static_cast<size_t>(49 + at)] = kNaN;  // plane 1
    const Tensor x = Tensor::from_vector(v, {1, 3, 7, 7});
    const std::vector<float> y = nn::functional::global_avg_pool2d(x).to_vector();
    EXPECT_FALSE(std::isnan(y[0])) << at;
    EXPECT_TRUE(std::isnan(y[1])) << at;
    EXPECT_FALSE(std::isnan(y[2])) << at;
  }
}

TEST(NaNPropagation, MaxMinAndArgmaxTreatNaNAsTheExtreme) {
  for (const int64_t n : {int64_t{5}, int64_t{37}, (int64_t{1} << 16) + 5}) {
    for (const int64_t at : {int64_t{0}, int64_t{1}, n / 2, n - 1}) {
      const Tensor x = values_with_nans(n, {at});
      EXPECT_TRUE(std::isnan(kernel::max(x, 0).item())) << n << " " << at;
      EXPECT_TRUE(std::isnan(kernel::min(x, 0).item())) << n << " " << at;
      EXPECT_EQ(kernel::argmax(x, 0).item(), static_cast<float>(at)) << n << " " << at;
    }
  }
  // Along an inner axis (columns), and the first of two NaNs.
  const Tensor m = Tensor::from_vector({1, kNaN, 3, 4, 5, kNaN}, {3, 2});
  EXPECT_TRUE(std::isnan(kernel::max(m, 0).to_vector()[1]));
  EXPECT_EQ(kernel::argmax(m, 0).to_vector(), (std::vector<float>{2, 0}));
  EXPECT_EQ(kernel::argmax(Tensor::from_vector({1, kNaN, 9, kNaN}, {4}), 0).item(), 1.0f);
  // The autograd max sends its gradient to the NaN.
  Tensor x = Tensor::from_vector({1, kNaN, 3}, {3});
  x.set_requires_grad(true);
  const Tensor y = max(x, 0);
  EXPECT_TRUE(std::isnan(y.item()));
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 1, 0}));
}

TEST(NaNPropagation, SoftmaxLossOfANaNLogitIsNaNWhereverItIs) {
  for (const int64_t at : {0, 4, 9}) {
    std::vector<float> logits(10, 0.5f);
    logits[static_cast<size_t>(at)] = kNaN;
    const Tensor row = Tensor::from_vector(logits, {1, 10});
    for (const float v : nn::functional::log_softmax(row).to_vector())
      EXPECT_TRUE(std::isnan(v)) << "NaN at " << at;
    EXPECT_TRUE(std::isnan(nn::functional::cross_entropy(row, {3}).item())) << "NaN at " << at;
  }
}

TEST(NaNPropagation, FirstNonFiniteFindsIt) {
  EXPECT_FALSE(kernel::first_non_finite(Tensor::ones({100})).has_value());
  EXPECT_FALSE(kernel::first_non_finite(Tensor::ones({0})).has_value());
  const Tensor x = values_with_nans((int64_t{1} << 17) + 5, {70000, 70001});  // in the second block
  EXPECT_EQ(kernel::first_non_finite(x), 70000);
  EXPECT_EQ(kernel::first_non_finite(Tensor::from_vector({1, 2, -INFINITY}, {3})), 2);
}

}  // namespace
}  // namespace qg
