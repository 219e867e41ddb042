// cat (autograd/ops/cat.cpp) beyond its gradient checks: the values land where torch.cat puts them, every
// element of a span argument is an input of its own in the graph (autograd/function.h), and shape errors
// name the shapes.
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/ops.h"

namespace qg {
namespace {

using V = std::vector<Tensor>;

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument thrown)";
}

TEST(Cat, EachInputIsTheNarrowedSliceOfTheOutput) {
  Generator gen(3);
  const V xs{Tensor::uniform({2, 3, 4, 5}, -1, 1, gen), Tensor::uniform({2, 1, 4, 5}, -1, 1, gen),
             Tensor::uniform({2, 2, 4, 5}, -1, 1, gen)};
  const Tensor y = cat(xs, 1);
  ASSERT_EQ(y.shape(), (Shape{2, 6, 4, 5}));
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    EXPECT_EQ(narrow(y, 1, offset, x.size(1)).to_vector(), x.to_vector());
    offset += x.size(1);
  }
}

TEST(Cat, TakesStridedInputs) {
  Generator gen(4);
  const Tensor a = Tensor::uniform({3, 2}, -1, 1, gen);
  const Tensor b = transpose(Tensor::uniform({4, 3}, -1, 1, gen), 0, 1);  // [3, 4], not contiguous
  ASSERT_FALSE(b.is_contiguous());
  const Tensor y = cat(V{a, b}, 1);
  EXPECT_EQ(narrow(y, 1, 0, 2).to_vector(), a.to_vector());
  EXPECT_EQ(narrow(y, 1, 2, 4).to_vector(), b.to_vector());
}

TEST(Cat, EveryElementOfTheListIsAGraphInput) {
  // Only b requires grad: a gets none, b gets its slice. The same tensor twice gets both slices, summed.
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector({5, 6}, {2, 1}).set_requires_grad(true);
  const Tensor y = cat(V{a, b, b}, 1);  // [2, 4]: a a b b
  ASSERT_EQ(y.shape(), (Shape{2, 4}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1, 2, 5, 5, 3, 4, 6, 6}));
  y.backward(Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}));
  EXPECT_FALSE(a.grad().defined());
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{3 + 4, 7 + 8}));
}

TEST(Cat, OneTensorIsACopy) {
  const Tensor a = Tensor::from_vector({1, 2, 3}, {3});
  const Tensor y = cat(V{a}, 0);
  EXPECT_EQ(y.to_vector(), a.to_vector());
  EXPECT_FALSE(y.shares_storage_with(a));
}

TEST(Cat, RefusesShapesThatDifferOutsideTheAxisNamingThem) {
  EXPECT_EQ(error_of([] {
              cat(V{Tensor::zeros({2, 3, 4, 4}), Tensor::zeros({2, 5, 4, 5})}, 1);
            }),
            "cat: sizes must match except along dim 1: input 0 is [2,3,4,4], input 1 is [2,5,4,5]");
  EXPECT_EQ(error_of([] {
              cat(V{Tensor::zeros({2, 3}), Tensor::zeros({2, 3}), Tensor::zeros({3, 3})}, 1);
            }),
            "cat: sizes must match except along dim 1: input 0 is [2,3], input 2 is [3,3]");
  EXPECT_EQ(error_of([] {
              cat(V{Tensor::zeros({2, 3, 4, 4}), Tensor::zeros({2, 3})}, 1);
            }),
            "cat: sizes must match except along dim 1: input 0 is [2,3,4,4], input 1 is [2,3]");
  EXPECT_EQ(error_of([] {
              cat(V{Tensor::zeros({2, 3}), Tensor::zeros({2, 3})}, 2);
            }),
            "cat: axis 2 is out of range for a tensor with 2 dimensions");
  EXPECT_EQ(error_of([] { cat(V{}, 0); }), "cat: expected at least one tensor, got none");
}

}  // namespace
}  // namespace qg
