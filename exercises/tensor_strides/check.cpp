// Checks exercise::element_offset and exercise::transpose (your file) against qg::element_offset and
// qg::kernel::transpose (the library's).
#include <random>
#include <string>
#include <vector>

#include "core/kernels/views.h"
#include "exercises/common/check.h"
#include "exercises/tensor_strides/tensor_strides.h"

namespace {

using qg::Shape;
using qg::Tensor;

std::string show(const std::vector<int64_t>& v) {
  return qg::to_string(v);
}

std::string describe_view(const Tensor& a) {
  return "a tensor of shape " + show(a.shape()) + ", strides " + show(a.strides()) + ", offset " +
         std::to_string(a.offset());
}

void check_element_offset(exercise::Check& check) {
  std::mt19937 gen(3);
  for (int i = 0; i < 5000; ++i) {
    const int rank = i % 6;  // 0 (a scalar) .. 5
    std::vector<int64_t> index(rank);
    Shape strides(rank);
    for (int k = 0; k < rank; ++k) {
      index[k] = std::uniform_int_distribution<int64_t>(0, 9)(gen);
      strides[k] = std::uniform_int_distribution<int64_t>(0, 500)(gen);  // 0: a broadcast dimension
    }
    const int64_t offset = i % 3 == 0 ? 0 : std::uniform_int_distribution<int64_t>(0, 1000)(gen);
    check.equal("element_offset(index=" + show(index) + ", strides=" + show(strides) +
                    ", offset=" + std::to_string(offset) + ")",
                "position", exercise::element_offset(index, strides, offset),
                qg::element_offset(index, strides, offset));
  }
}

void compare_transpose(exercise::Check& check, const Tensor& a, int64_t dim0, int64_t dim1) {
  const std::string inputs = "transpose(" + describe_view(a) + ", dim0=" + std::to_string(dim0) +
                             ", dim1=" + std::to_string(dim1) + ")";
  const Tensor library = qg::kernel::transpose(a, dim0, dim1);
  const Tensor yours = exercise::transpose(a, dim0, dim1);
  check.require(inputs, yours.defined(), "yours returned an undefined tensor");
  check.equal(inputs, "shape", show(yours.shape()), show(library.shape()));
  check.equal(inputs, "strides", show(yours.strides()), show(library.strides()));
  check.equal(inputs, "offset", yours.offset(), library.offset());
  check.require(inputs, yours.shares_storage_with(a),
                "yours is a copy: a transpose is a view of the same storage (return a.as_strided(...))");
  const std::vector<float> values = yours.to_vector(), expected = library.to_vector();
  for (size_t i = 0; i < expected.size(); ++i)
    check.equal(inputs, "element " + std::to_string(i) + " in row-major order", values[i], expected[i]);
}

// Every pair of axes of `a`, given as non-negative and as negative numbers.
void transpose_all_axes(exercise::Check& check, const Tensor& a) {
  const int64_t n = a.dim();
  for (int64_t d0 = 0; d0 < n; ++d0) {
    for (int64_t d1 = 0; d1 < n; ++d1) {
      compare_transpose(check, a, d0, d1);
      compare_transpose(check, a, d0 - n, d1);
      compare_transpose(check, a, d0, d1 - n);
    }
  }
}

Tensor numbered(const Shape& shape) {  // 0, 1, 2, ... so that every element differs
  return qg::kernel::reshape(Tensor::arange(0.0f, static_cast<float>(qg::numel(shape))), shape);
}

void check_transpose(exercise::Check& check) {
  for (const Shape& shape :
       std::vector<Shape>{{2, 3}, {5}, {3, 1}, {2, 3, 4}, {1, 4, 1}, {2, 0, 3}, {2, 3, 4, 5}})
    transpose_all_axes(check, numbered(shape));
  // Views: a slice (offset != 0), a view that is already transposed, a slice of a transposed view.
  const Tensor x = numbered({4, 5, 6});
  transpose_all_axes(check, qg::kernel::narrow(x, 0, 1, 2));
  transpose_all_axes(check, qg::kernel::narrow(x, 2, 3, 3));
  transpose_all_axes(check, qg::kernel::transpose(x, 0, 2));
  transpose_all_axes(check, qg::kernel::narrow(qg::kernel::permute(x, {1, 2, 0}), 1, 2, 3));

  // An axis out of range is an error, as in the library.
  const Tensor m = numbered({2, 3});
  for (auto [d0, d1] : std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {2, 0}, {-3, 0}, {0, 5}})
    check.throws("transpose(a tensor of shape [2,3], dim0=" + std::to_string(d0) +
                     ", dim1=" + std::to_string(d1) + ")",
                 [&] { exercise::transpose(m, d0, d1); });
}

void check_tensor_strides(exercise::Check& check) {
  check_element_offset(check);
  // element_offset on real views: the storage element at your position is the view's element.
  const Tensor x = numbered({3, 4, 5});
  for (const Tensor& view : {qg::kernel::narrow(x, 1, 1, 2), qg::kernel::permute(x, {2, 0, 1})}) {
    const float* storage = x.data();
    for (int64_t i = 0; i < view.shape()[0]; ++i)
      for (int64_t j = 0; j < view.shape()[1]; ++j)
        for (int64_t k = 0; k < view.shape()[2]; ++k) {
          const std::vector<int64_t> index = {i, j, k};
          const int64_t position = exercise::element_offset(index, view.strides(), view.offset());
          check.require("element_offset(index=" + show(index) + ") in " + describe_view(view),
                        position >= 0 && position < x.numel(),
                        "yours gives position " + std::to_string(position) + ", outside the storage of " +
                            std::to_string(x.numel()) + " elements");
          check.equal("element_offset(index=" + show(index) + ") in " + describe_view(view), "value there",
                      storage[position], view.at({i, j, k}));
        }
  }
  check_transpose(check);
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("tensor_strides", argc, argv, check_tensor_strides);
}
