#include "core/kernels/reduce.h"

// xtensor 0.24's svector::erase (reached through xt::argmax) trips a false -Warray-bounds in g++ 12.
#pragma GCC diagnostic ignored "-Warray-bounds"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <xtensor/xnoalias.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "core/kernels/elementwise.h"
#include "core/kernels/xview.h"

namespace qg::kernel {

using detail::xview;

std::vector<int64_t> reduction_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (axes.empty()) {
    for (int64_t i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t axis : axes) out.push_back(normalize_axis(axis, ndim, op));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keepdim) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    const bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!reduced) out.push_back(shape[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

namespace {

// Every single-axis reduction sees its input as [outer, n, inner] (the axes before, the reduced
// axis, the axes after) and produces [outer, 1, inner]. A fixed rank of 3 keeps xtensor on its
// well-trodden path (its reducers over run-time axis lists misbehave in the Debian 0.24 build).
struct AxisSplit {
  size_t outer = 1, n = 1, inner = 1;
};

AxisSplit split_at(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    const size_t d = static_cast<size_t>(shape[i]);
    if (i < axis) s.outer *= d;
    else if (i == axis) s.n = d;
    else s.inner *= d;
  }
  return s;
}

template <class Reducer>
Tensor reduce_axis(const Tensor& a, int64_t axis, Reducer reducer) {
  const Tensor ca = a.contiguous();
  const AxisSplit s = split_at(a.shape(), axis);
  Tensor out = Tensor::empty(reduced_shape(a.shape(), {axis}, /*keepdim=*/true));
  auto in = xt::adapt(ca.data(), s.outer * s.n * s.inner, xt::no_ownership(), std::array<size_t, 3>{s.outer, s.n, s.inner});
  auto o = xt::adapt(out.data(), s.outer * s.inner, xt::no_ownership(), std::array<size_t, 2>{s.outer, s.inner});
  xt::noalias(o) = reducer(in);
  return out;
}

Tensor drop_or_keep(const Tensor& kept, const Shape& input_shape, const std::vector<int64_t>& axes, bool keepdim) {
  if (keepdim) return kept;
  const Shape shape = reduced_shape(input_shape, axes, false);
  return kept.as_strided(shape, contiguous_strides(shape), kept.offset());
}

}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  const std::vector<int64_t> ax = reduction_axes(axes, a.dim(), "sum");
  // Reducing axis by axis; each pass accumulates in double (a float sum over a whole batch loses
  // digits that the gradient checks can see).
  Tensor acc = a;
  for (int64_t axis : ax) {
    acc = reduce_axis(acc, axis, [](auto& in) { return xt::sum<double>(in, {1}); });
  }
  return drop_or_keep(ax.empty() ? a.clone() : acc, a.shape(), ax, keepdim);
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  const std::vector<int64_t> ax = reduction_axes(axes, a.dim(), "mean");
  int64_t count = 1;
  for (int64_t axis : ax) count *= a.shape()[axis];
  if (count == 0) throw std::invalid_argument("mean: reduction over zero elements of " + to_string(a.shape()));
  Tensor out = sum(a, axes, keepdim);
  scale(out, 1.0f / static_cast<float>(count));
  return out;
}

Tensor max(const Tensor& a, int64_t axis, bool keepdim) {
  const int64_t ax = normalize_axis(axis, a.dim(), "max");
  if (a.shape()[ax] == 0) throw std::invalid_argument("max: empty axis in " + to_string(a.shape()));
  const Tensor kept = reduce_axis(a, ax, [](auto& in) { return xt::amax(in, {1}); });
  return drop_or_keep(kept, a.shape(), {ax}, keepdim);
}

Tensor min(const Tensor& a, int64_t axis, bool keepdim) {
  const int64_t ax = normalize_axis(axis, a.dim(), "min");
  if (a.shape()[ax] == 0) throw std::invalid_argument("min: empty axis in " + to_string(a.shape()));
  const Tensor kept = reduce_axis(a, ax, [](auto& in) { return xt::amin(in, {1}); });
  return drop_or_keep(kept, a.shape(), {ax}, keepdim);
}

Tensor argmax(const Tensor& a, int64_t axis, bool keepdim) {
  const int64_t ax = normalize_axis(axis, a.dim(), "argmax");
  if (a.shape()[ax] == 0) throw std::invalid_argument("argmax: empty axis in " + to_string(a.shape()));
  const Tensor kept = reduce_axis(a, ax, [](auto& in) { return xt::cast<float>(xt::argmax(in, 1)); });
  return drop_or_keep(kept, a.shape(), {ax}, keepdim);
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  const int64_t lead = a.dim() - static_cast<int64_t>(shape.size());
  if (lead < 0) {
    throw std::invalid_argument("sum_to: cannot reduce " + to_string(a.shape()) + " to larger rank " +
                                to_string(shape));
  }
  // Leading axes that broadcasting added, plus axes where the target has size 1.
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < a.dim(); ++i) {
    if (i < lead) axes.push_back(i);
    else if (shape[i - lead] == 1 && a.shape()[i] != 1) axes.push_back(i);
    else if (shape[i - lead] != a.shape()[i]) {
      throw std::invalid_argument("sum_to: " + to_string(a.shape()) + " is not a broadcast of " +
                                  to_string(shape));
    }
  }
  Tensor reduced = axes.empty() ? a.clone() : sum(a, axes, /*keepdim=*/true);
  // Drop the leading axes that were kept as 1 by keepdim.
  return reduced.contiguous().as_strided(shape, contiguous_strides(shape), reduced.offset());
}

}  // namespace qg::kernel
