// The index arithmetic of strided views (core/shape.h, Tensor::as_strided): element_offset, the one formula
// Tensor::at and the course's exercise tensor_strides use, and empty views, whose size-0 dimension may sit
// anywhere in the shape.
#include <gtest/gtest.h>

#include <vector>

#include "core/kernels/views.h"
#include "core/tensor.h"

namespace qg {
namespace {

TEST(ElementOffset, IsOffsetPlusIndexDotStrides) {
  const std::vector<int64_t> index = {1, 2, 3};
  EXPECT_EQ(element_offset(index, {20, 5, 1}, 0), 1 * 20 + 2 * 5 + 3);
  EXPECT_EQ(element_offset(index, {1, 4, 12}, 7), 7 + 1 + 2 * 4 + 3 * 12);
  EXPECT_EQ(element_offset(std::vector<int64_t>{}, {}, 9), 9);  // a scalar lives at the offset
}

TEST(ElementOffset, FindsTheElementAtReturnsInAView) {
  const Tensor x = kernel::reshape(Tensor::arange(0.0f, 60.0f), {3, 4, 5});
  const Tensor view = kernel::narrow(kernel::permute(x, {2, 0, 1}), 2, 1, 2);  // [5, 3, 2], offset 5
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 2; ++k) {
        const std::vector<int64_t> index = {i, j, k};
        EXPECT_EQ(x.data()[element_offset(index, view.strides(), view.offset())], view.at({i, j, k}));
      }
}

TEST(EmptyViews, AZeroSizedDimensionAnywhereMakesAValidEmptyView) {
  for (const Shape& shape : {Shape{0}, Shape{2, 0, 3}, Shape{0, 4}, Shape{2, 3, 0}}) {
    const Tensor empty = kernel::reshape(Tensor::zeros({0}), shape);
    EXPECT_EQ(empty.shape(), shape);
    EXPECT_EQ(empty.numel(), 0);
    EXPECT_EQ(kernel::transpose(empty, 0, -1).numel(), 0);
  }
  // A non-empty view past the end of its storage is still refused.
  EXPECT_THROW(Tensor::zeros({6}).as_strided({2, 3}, {3, 1}, 1), std::out_of_range);
}

}  // namespace
}  // namespace qg
