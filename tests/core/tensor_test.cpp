#include <gtest/gtest.h>

#include "core/kernels/elementwise.h"
#include "core/kernels/matmul.h"
#include "core/kernels/reduce.h"
#include "core/kernels/views.h"
#include "core/tensor.h"

namespace qg {
namespace {

TEST(Tensor, FactoriesFillShapeAndValues) {
  const Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.to_vector(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(Tensor::full({2}, 7.5f).to_vector(), (std::vector<float>{7.5f, 7.5f}));
  EXPECT_EQ(Tensor::arange(0, 5, 2).to_vector(), (std::vector<float>{0, 2, 4}));
  EXPECT_FLOAT_EQ(Tensor::scalar(3.0f).item(), 3.0f);
  EXPECT_THROW(Tensor::from_vector({1, 2, 3}, {2, 2}), std::invalid_argument);
}

TEST(Tensor, SeededRandomIsReproducible) {
  Generator g1(42), g2(42), g3(43);
  EXPECT_EQ(Tensor::randn({10}, g1).to_vector(), Tensor::randn({10}, g2).to_vector());
  EXPECT_NE(Tensor::randn({10}, g1).to_vector(), Tensor::randn({10}, g3).to_vector());
  const std::vector<float> u = Tensor::uniform({1000}, -2.0f, 3.0f, g1).to_vector();
  for (float v : u) {
    EXPECT_GE(v, -2.0f);
    EXPECT_LT(v, 3.0f);
  }
}

TEST(Tensor, CopyAliasesCloneCopies) {
  Tensor a = Tensor::zeros({3});
  Tensor alias = a;
  Tensor copy = a.clone();
  a.data()[1] = 5.0f;
  EXPECT_EQ(alias.at({1}), 5.0f);
  EXPECT_EQ(copy.at({1}), 0.0f);
}

TEST(Views, TransposeIsAViewAndContiguousCopies) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor t = kernel::transpose(a, 0, 1);
  EXPECT_TRUE(t.shares_storage_with(a));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.at({2, 1}), 6.0f);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  const Tensor c = t.contiguous();
  EXPECT_FALSE(c.shares_storage_with(a));
  EXPECT_TRUE(c.is_contiguous());
}

TEST(Views, ReshapeInfersAndRejects) {
  const Tensor a = Tensor::arange(0, 24);
  EXPECT_EQ(kernel::reshape(a, {2, -1, 4}).shape(), (Shape{2, 3, 4}));
  EXPECT_TRUE(kernel::reshape(a, {4, 6}).shares_storage_with(a));
  try {
    kernel::reshape(a, {5, 5});
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[24]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[5,5]"), std::string::npos) << e.what();
  }
}

TEST(Views, NarrowSlicesTheBatch) {
  const Tensor a = kernel::reshape(Tensor::arange(0, 12), {4, 3});
  const Tensor rows = kernel::narrow(a, 0, 1, 2);
  EXPECT_EQ(rows.to_vector(), (std::vector<float>{3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(rows.is_contiguous());
  EXPECT_THROW(kernel::narrow(a, 0, 3, 2), std::out_of_range);
}

TEST(Elementwise, BroadcastsLikeNumpy) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor row = Tensor::from_vector({10, 20, 30}, {3});
  const Tensor col = Tensor::from_vector({100, 200}, {2, 1});
  EXPECT_EQ(kernel::add(a, row).to_vector(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(kernel::mul(a, col).to_vector(), (std::vector<float>{100, 200, 300, 800, 1000, 1200}));
  EXPECT_EQ(kernel::add(row, col).shape(), (Shape{2, 3}));
}

TEST(Elementwise, ShapeErrorNamesOpAndBothShapes) {
  try {
    kernel::add(Tensor::zeros({2, 3}), Tensor::zeros({4}));
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "add: cannot broadcast [2,3] with [4]");
  }
}

TEST(Elementwise, WorksOnStridedInputs) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  const Tensor t = kernel::transpose(a, 0, 1);
  EXPECT_EQ(kernel::sub(t, a).to_vector(), (std::vector<float>{0, 1, -1, 0}));
  EXPECT_EQ(kernel::relu(kernel::add_scalar(a, -2.5f)).to_vector(), (std::vector<float>{0, 0, 0.5f, 1.5f}));
}

TEST(Reduce, SumMeanMaxArgmaxAlongAxes) {
  const Tensor a = Tensor::from_vector({1, 5, 3, 4, 2, 6}, {2, 3});
  EXPECT_EQ(kernel::sum(a).to_vector(), (std::vector<float>{21}));
  EXPECT_EQ(kernel::sum(a, {0}).to_vector(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(kernel::sum(a, {-1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(kernel::mean(a, {1}).to_vector(), (std::vector<float>{3, 4}));
  EXPECT_EQ(kernel::max(a, 1).to_vector(), (std::vector<float>{5, 6}));
  EXPECT_EQ(kernel::argmax(a, 1).to_vector(), (std::vector<float>{1, 2}));
  EXPECT_EQ(kernel::argmax(a, 0).to_vector(), (std::vector<float>{1, 0, 1}));
}

TEST(Reduce, ArgmaxTiesGoToTheLowestIndex) {
  const Tensor a = Tensor::from_vector({3, 7, 7, 1}, {1, 4});
  EXPECT_EQ(kernel::argmax(a, 1).item(), 1.0f);
}

TEST(Reduce, SumToUndoesBroadcasting) {
  const Tensor g = Tensor::ones({4, 2, 3});
  EXPECT_EQ(kernel::sum_to(g, {3}).to_vector(), (std::vector<float>{8, 8, 8}));
  EXPECT_EQ(kernel::sum_to(g, {2, 1}).to_vector(), (std::vector<float>{12, 12}));
  EXPECT_THROW(kernel::sum_to(g, {4}), std::invalid_argument);
}

TEST(Matmul, MatchesNaiveProductAndHandlesTransposedViews) {
  Generator gen(7);
  const Tensor a = Tensor::randn({5, 4}, gen), b = Tensor::randn({4, 3}, gen);
  const Tensor c = kernel::matmul(a, b);
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      float expected = 0;
      for (int64_t k = 0; k < 4; ++k)
        expected += a.at({i, k}) * b.at({k, j});
      EXPECT_NEAR(c.at({i, j}), expected, 1e-5f);
    }
  }
  const Tensor at = kernel::transpose(kernel::reshape(a.clone(), {5, 4}), 0, 1);  // [4,5] view
  const Tensor c2 = kernel::matmul(kernel::transpose(at, 0, 1), b);
  EXPECT_EQ(c2.to_vector(), c.to_vector());
  EXPECT_THROW(kernel::matmul(a, a), std::invalid_argument);
}

}  // namespace
}  // namespace qg
