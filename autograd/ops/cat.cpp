// cat: joins tensors along one axis (torch.cat). Its backward hands every input its own slice of the
// gradient.
//
// Seen around the axis, every input is [outer, size_i, inner] (outer = the product of the dims before the
// axis, inner = the product of those after) and the output is [outer, total, inner] with total = the sum of
// the size_i. Input i fills the columns [offset_i, offset_i + size_i) of the output's middle axis, where
// offset_i = size_0 + ... + size_{i-1}: for each of the `outer` rows one contiguous block of size_i * inner
// values, copied as it is.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "autograd/function.h"
#include "autograd/ops.h"

namespace qg {

namespace {

struct CatLayout {
  int64_t outer = 1, inner = 1, total = 0;
};

CatLayout cat_layout(const Shape& first, int64_t axis, int64_t total) {
  CatLayout l;
  for (int64_t d = 0; d < axis; ++d)
    l.outer *= first[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(first.size()); ++d)
    l.inner *= first[d];
  l.total = total;
  return l;
}

// y = cat(x_0, ..., x_{k-1}) along axis:  dx_i = dy[..., offset_i : offset_i + size_i, ...] (along axis)
struct CatFn {
  static constexpr const char* name = "cat";
  int64_t axis = 0;
  std::vector<Shape> shapes;  // of the inputs, in order
  std::vector<int64_t> offsets;
  CatLayout layout;

  Tensor forward(std::span<const Tensor> xs, int64_t ax) {
    axis = ax;
    int64_t total = 0;
    for (const Tensor& x : xs) {
      shapes.push_back(x.shape());
      offsets.push_back(total);
      total += x.size(axis);
    }
    layout = cat_layout(shapes.front(), axis, total);
    Shape out_shape = shapes.front();
    out_shape[axis] = total;
    Tensor y = Tensor::empty(out_shape);
    float* out = y.data();
    for (size_t i = 0; i < xs.size(); ++i) {
      const Tensor x = xs[i].contiguous();
      const float* in = x.data();
      const int64_t block = shapes[i][axis] * layout.inner;
      for (int64_t o = 0; o < layout.outer; ++o)
        std::copy(in + o * block, in + (o + 1) * block, out + (o * layout.total + offsets[i]) * layout.inner);
    }
    return y;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous();
    std::vector<Tensor> grads;
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor dx = Tensor::empty(shapes[i]);
      const int64_t block = shapes[i][axis] * layout.inner;
      for (int64_t o = 0; o < layout.outer; ++o) {
        const float* from = g.data() + (o * layout.total + offsets[i]) * layout.inner;
        std::copy(from, from + block, dx.data() + o * block);
      }
      grads.push_back(dx);
    }
    return grads;
  }
};

}  // namespace

Tensor cat(std::span<const Tensor> tensors, int64_t axis) {
  if (tensors.empty()) throw std::invalid_argument("cat: expected at least one tensor, got none");
  const Tensor& first = tensors.front();
  const int64_t ax = normalize_axis(axis, first.dim(), "cat");
  for (size_t i = 1; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool match = static_cast<int64_t>(s.size()) == first.dim();
    for (int64_t d = 0; match && d < first.dim(); ++d)
      match = d == ax || s[d] == first.shape()[d];
    if (!match) {
      throw std::invalid_argument("cat: sizes must match except along dim " + std::to_string(ax) +
                                  ": input 0 is " + to_string(first.shape()) + ", input " +
                                  std::to_string(i) + " is " + to_string(s));
    }
  }
  return apply<CatFn>(tensors, ax);
}

}  // namespace qg
