// The engine hands a gradient to a leaf without copying it when nothing else can see it
// (autograd/engine.cpp): the leaf's .grad must still never alias another tensor.
#include <gtest/gtest.h>

#include "autograd/ops.h"

namespace qg {
namespace {

TEST(LeafGradients, NeverAliasEachOtherOrTheSeedGradient) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor w = Tensor::from_vector({4, 5, 6}, {3}).set_requires_grad(true);
  const Tensor seed = Tensor::from_vector({1, 1, 1}, {3});
  add(x, w).backward(seed);  // add's backward may hand the same gradient to both inputs
  ASSERT_TRUE(x.grad().defined() && w.grad().defined());
  EXPECT_FALSE(x.grad().shares_storage_with(w.grad()));
  EXPECT_FALSE(x.grad().shares_storage_with(seed));
  x.grad().data()[0] = 100.0f;
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(seed.to_vector(), (std::vector<float>{1, 1, 1}));
}

TEST(LeafGradients, AFreshGradientIsKeptAndAccumulatesCorrectly) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}).set_requires_grad(true);
  sum(mul_scalar(x, 2.0f)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 2, 2}));
  sum(mul_scalar(x, 3.0f)).backward();  // accumulates into the kept gradient
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{5, 5, 5}));
  // A leaf used twice in one graph receives the sum of both paths.
  Tensor y = Tensor::from_vector({1, 1}, {2}).set_requires_grad(true);
  sum(add(mul_scalar(y, 2.0f), mul_scalar(y, 5.0f))).backward();
  EXPECT_EQ(y.grad().to_vector(), (std::vector<float>{7, 7}));
}

TEST(LeafGradients, TheRootItselfGetsACopy) {
  Tensor x = Tensor::from_vector({1, 2}, {2}).set_requires_grad(true);
  const Tensor seed = Tensor::from_vector({3, 4}, {2});
  x.backward(seed);
  EXPECT_FALSE(x.grad().shares_storage_with(seed));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{3, 4}));
}

}  // namespace
}  // namespace qg
