// Dropout (nn/layers/dropout.h, nn/functional/dropout.h): the statistics of the mask, the scaling of what
// is kept, the identity in eval mode, determinism per seed and the refusal of p outside [0, 1).
//
// The statistical checks use bounds derived from the binomial distribution: with n elements each dropped
// independently with probability p, the number dropped has standard deviation sqrt(n p (1-p)); 5 standard
// deviations is never exceeded by chance in practice (p < 6e-7), yet a mask drawn with probability p +- 0.01
// (or scaled by another factor) misses it by far at n = 2^20.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/functional/dropout.h"
#include "nn/layers.h"

namespace qg::nn {
namespace {

constexpr int64_t kLarge = int64_t{1} << 20;

// Values in [0.5, 1.5]: none is zero, so a zero in the output is a dropped element.
Tensor positive_input(int64_t n, uint64_t seed) {
  Generator gen(seed);
  return Tensor::uniform({n}, 0.5f, 1.5f, gen);
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument thrown)";
}

class DropoutStatistics : public ::testing::TestWithParam<float> {};

TEST_P(DropoutStatistics, DropsAFractionPAndKeepsTheMean) {
  const float p = GetParam();
  Dropout dropout(p, uint64_t{2024});
  const Tensor x = positive_input(kLarge, 1);
  const std::vector<float> y = dropout(x).to_vector(), in = x.to_vector();
  const double n = static_cast<double>(kLarge), scale = 1.0 / (1.0 - p);

  int64_t zeros = 0;
  double sum_in = 0.0, sum_out = 0.0, sum_in_sq = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.0f) {
      ++zeros;
    } else {
      ASSERT_FLOAT_EQ(y[i], in[i] * static_cast<float>(scale)) << "kept element " << i;
    }
    sum_in += in[i];
    sum_out += y[i];
    sum_in_sq += static_cast<double>(in[i]) * in[i];
  }
  // The fraction of zeros: binomial(n, p) / n, standard deviation sqrt(p (1-p) / n).
  const double zero_sigma = std::sqrt(p * (1.0 - p) / n);
  EXPECT_NEAR(static_cast<double>(zeros) / n, p, 5 * zero_sigma) << "p " << p;
  // The mean: y_i = x_i m_i with E[m_i] = 1 and Var[m_i] = p / (1-p), so the mean of y has standard
  // deviation sqrt(mean(x^2) p / (1-p) / n) around the mean of x.
  const double mean_sigma = std::sqrt(sum_in_sq / n * p / (1.0 - p) / n);
  EXPECT_NEAR(sum_out / n, sum_in / n, 5 * mean_sigma) << "p " << p;
}

INSTANTIATE_TEST_SUITE_P(Probabilities, DropoutStatistics, ::testing::Values(0.1f, 0.5f, 0.8f));

TEST(Dropout, EvalModeReturnsTheInputItself) {
  Dropout dropout(0.5f, uint64_t{1});
  dropout.eval();
  const Tensor x = positive_input(1000, 2);
  const std::vector<float> before = x.to_vector();
  const Tensor y = dropout(x);
  EXPECT_EQ(y.impl_ptr(), x.impl_ptr()) << "eval mode must return the very input handle, not a copy";
  EXPECT_EQ(y.to_vector(), before);
  dropout.train();
  EXPECT_NE(dropout(x).impl_ptr(), x.impl_ptr());
}

TEST(Dropout, PZeroReturnsTheInputItselfInTraining) {
  Dropout dropout(0.0f, uint64_t{1});
  const Tensor x = positive_input(100, 3);
  EXPECT_EQ(dropout(x).impl_ptr(), x.impl_ptr());
}

TEST(Dropout, TheSameSeedGivesTheSameMasks) {
  const Tensor x = positive_input(4096, 4);
  Dropout a(0.3f, uint64_t{42}), b(0.3f, uint64_t{42}), other(0.3f, uint64_t{43});
  const std::vector<float> a1 = a(x).to_vector(), a2 = a(x).to_vector();
  EXPECT_EQ(a1, b(x).to_vector()) << "first mask";
  EXPECT_EQ(a2, b(x).to_vector()) << "second mask";
  EXPECT_NE(a1, a2) << "each call draws a new mask";
  EXPECT_NE(a1, other(x).to_vector()) << "another seed, another mask";

  // Seeded from a Generator, as Linear and Conv2d draw from one: the same generator state, the same masks.
  Generator g1(7), g2(7);
  Dropout c(0.3f, g1), d(0.3f, g2);
  EXPECT_EQ(c(x).to_vector(), d(x).to_vector());
}

TEST(Dropout, BackwardMultipliesByTheSameMask) {
  Dropout dropout(0.25f, uint64_t{5});
  Tensor x = positive_input(2000, 6).set_requires_grad(true);
  const Tensor y = dropout(x);
  Generator gen(9);
  const Tensor dy = Tensor::uniform({2000}, -1.0f, 1.0f, gen);
  y.backward(dy);
  const std::vector<float> out = y.to_vector(), in = x.to_vector(), g = dy.to_vector(),
                           dx = x.grad().to_vector();
  for (size_t i = 0; i < out.size(); ++i) {
    const float mask = out[i] == 0.0f ? 0.0f : 1.0f / 0.75f;
    EXPECT_EQ(dx[i], g[i] * mask) << i;
  }
}

TEST(Dropout, RefusesPOutsideZeroToOne) {
  EXPECT_EQ(error_of([] { Dropout(1.0f, uint64_t{0}); }), "Dropout(p=1): p must be in [0, 1)");
  EXPECT_EQ(error_of([] { Dropout(-0.1f); }), "Dropout(p=-0.1): p must be in [0, 1)");
  EXPECT_EQ(error_of([] { Dropout(1.5f); }), "Dropout(p=1.5): p must be in [0, 1)");
  EXPECT_EQ(error_of([] { Dropout(std::nanf("")); }), "Dropout(p=nan): p must be in [0, 1)");
  Generator gen(1);
  EXPECT_EQ(error_of([&] { functional::dropout(Tensor::ones({3}), 1.0f, true, gen); }),
            "dropout: p must be in [0, 1), got 1");
  EXPECT_EQ(error_of([&] { functional::dropout(Tensor::ones({3}), -0.5f, false, gen); }),
            "dropout: p must be in [0, 1), got -0.5");
  EXPECT_NO_THROW(Dropout(0.0f));
  EXPECT_NO_THROW(Dropout(0.999f));
}

TEST(Dropout, DescribesItselfLikePytorch) {
  EXPECT_EQ(Dropout().describe(), "Dropout(p=0.5)");
  EXPECT_EQ(Dropout(0.1f).describe(), "Dropout(p=0.1)");
  EXPECT_EQ(Dropout(0.25f, uint64_t{3}).type_name(), "Dropout");
}

}  // namespace
}  // namespace qg::nn
