#include "core/kernels/reduce.h"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "core/kernels/elementwise.h"
#include "core/kernels/nan_order.h"
#include "core/parallel.h"
#include "core/simd.h"

namespace qg::kernel {

std::vector<int64_t> reduction_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (axes.empty()) {
    for (int64_t i = 0; i < ndim; ++i)
      out.push_back(i);
    return out;
  }
  for (int64_t axis : axes)
    out.push_back(normalize_axis(axis, ndim, op));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keepdim) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    const bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!reduced)
      out.push_back(shape[i]);
    else if (keepdim)
      out.push_back(1);
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
    if (i < axis)
      s.outer *= d;
    else if (i == axis)
      s.n = d;
    else
      s.inner *= d;
  }
  return s;
}

// ---- sum, max and min as plain loops over [outer, n, inner] ----------------------------------------------
// A row of n values (inner == 1) is cut into fixed blocks of kBlock values; each block is reduced on one
// thread and the blocks are combined in order, so the result does not depend on the thread count. With
// inner > 1 the reduction runs down the columns, kColumns at a time per thread.

constexpr int64_t kBlock = int64_t{1} << 15;
constexpr int64_t kColumns = 512;

// The three reductions: an identity-free fold over one block, and how two partial results combine.
struct SumOp {  // in double: a float sum over a whole batch loses digits the gradient checks can see
  using Acc = double;
  static QG_SIMD_CLONES double block(const float* __restrict p, int64_t n) {
    double lane[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      for (int64_t j = 0; j < 4; ++j)
        lane[j] += p[i + j];
    }
    double total = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    for (; i < n; ++i)
      total += p[i];
    return total;
  }
  static double combine(double a, double b) { return a + b; }
  static void column_step(double* acc, const float* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      acc[i] += p[i];
  }
  static double first(float v) { return v; }
};

// max/min propagate NaN: the result is NaN when any value is (as torch.max), so an observer never
// mistakes a diverged tensor for a finite range.
template <bool kMax>
struct ExtremeOp {
  using Acc = float;
  static float pick(float best, float v) {
    return (kMax ? beats_max(v, best) : beats_min(v, best)) ? v : best;
  }
  static QG_SIMD_CLONES float block(const float* __restrict p, int64_t n) {
    simd::Float8 lane = simd::load8(p);  // n >= 8 here
    simd::Float8 nan = lane != lane ? lane : simd::Float8{};
    int64_t i = 8;
    for (; i + 8 <= n; i += 8) {
      const simd::Float8 v = simd::load8(p + i);
      lane = kMax ? (v > lane ? v : lane) : (v < lane ? v : lane);
      nan = v != v ? v : nan;
    }
    float best = lane[0];
    for (int j = 1; j < 8; ++j)
      best = pick(best, lane[j]);
    for (int j = 0; j < 8; ++j)
      best = pick(best, nan[j]);
    for (; i < n; ++i)
      best = pick(best, p[i]);
    return best;
  }
  static float combine(float a, float b) { return pick(a, b); }
  static void column_step(float* acc, const float* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      acc[i] = pick(acc[i], p[i]);
  }
  static float first(float v) { return v; }
};

template <class Op>
typename Op::Acc fold_row(const float* p, int64_t n) {
  if constexpr (std::is_same_v<typename Op::Acc, float>) {
    if (n < 8) {
      float best = p[0];
      for (int64_t i = 1; i < n; ++i)
        best = Op::combine(best, p[i]);
      return best;
    }
  }
  return Op::block(p, n);
}

template <class Op>
Tensor fold_axis(const Tensor& a, int64_t axis) {
  const Tensor ca = a.contiguous();
  const AxisSplit s = split_at(a.shape(), axis);
  const int64_t outer = static_cast<int64_t>(s.outer), n = static_cast<int64_t>(s.n),
                inner = static_cast<int64_t>(s.inner);
  Tensor out = Tensor::empty(reduced_shape(a.shape(), {axis}, /*keepdim=*/true));
  const float* x = ca.data();
  float* y = out.data();
  if (inner == 1) {
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    std::vector<typename Op::Acc> partial(static_cast<size_t>(outer * blocks));
    parallel::parallel_for(outer * blocks, [&](int64_t task) {
      const int64_t row = task / blocks, first = (task % blocks) * kBlock;
      partial[static_cast<size_t>(task)] = fold_row<Op>(x + row * n + first, std::min(kBlock, n - first));
    });
    for (int64_t row = 0; row < outer; ++row) {
      typename Op::Acc total = partial[static_cast<size_t>(row * blocks)];
      for (int64_t b = 1; b < blocks; ++b)
        total = Op::combine(total, partial[static_cast<size_t>(row * blocks + b)]);
      y[row] = static_cast<float>(total);
    }
    return out;
  }
  const int64_t column_blocks = (inner + kColumns - 1) / kColumns;
  parallel::parallel_for(outer * column_blocks, [&](int64_t task) {
    const int64_t row = task / column_blocks, first = (task % column_blocks) * kColumns;
    const int64_t width = std::min(kColumns, inner - first);
    typename Op::Acc acc[kColumns];
    const float* base = x + row * n * inner + first;
    for (int64_t i = 0; i < width; ++i)
      acc[i] = Op::first(base[i]);
    for (int64_t k = 1; k < n; ++k)
      Op::column_step(acc, base + k * inner, width);
    for (int64_t i = 0; i < width; ++i)
      y[row * inner + first + i] = static_cast<float>(acc[i]);
  });
  return out;
}

Tensor drop_or_keep(const Tensor& kept, const Shape& input_shape, const std::vector<int64_t>& axes,
                    bool keepdim) {
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
    if (acc.shape()[axis] == 0) {
      acc = Tensor::zeros(reduced_shape(acc.shape(), {axis}, /*keepdim=*/true));
    } else {
      acc = fold_axis<SumOp>(acc, axis);
    }
  }
  return drop_or_keep(ax.empty() ? a.clone() : acc, a.shape(), ax, keepdim);
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  const std::vector<int64_t> ax = reduction_axes(axes, a.dim(), "mean");
  int64_t count = 1;
  for (int64_t axis : ax)
    count *= a.shape()[axis];
  if (count == 0)
    throw std::invalid_argument("mean: reduction over zero elements of " + to_string(a.shape()));
  Tensor out = sum(a, axes, keepdim);
  scale(out, 1.0f / static_cast<float>(count));
  return out;
}

Tensor max(const Tensor& a, int64_t axis, bool keepdim) {
  const int64_t ax = normalize_axis(axis, a.dim(), "max");
  if (a.shape()[ax] == 0) throw std::invalid_argument("max: empty axis in " + to_string(a.shape()));
  const Tensor kept = fold_axis<ExtremeOp<true>>(a, ax);
  return drop_or_keep(kept, a.shape(), {ax}, keepdim);
}

Tensor min(const Tensor& a, int64_t axis, bool keepdim) {
  const int64_t ax = normalize_axis(axis, a.dim(), "min");
  if (a.shape()[ax] == 0) throw std::invalid_argument("min: empty axis in " + to_string(a.shape()));
  const Tensor kept = fold_axis<ExtremeOp<false>>(a, ax);
  return drop_or_keep(kept, a.shape(), {ax}, keepdim);
}

Tensor argmax(const Tensor& a, int64_t axis, bool keepdim) {
  const int64_t ax = normalize_axis(axis, a.dim(), "argmax");
  if (a.shape()[ax] == 0) throw std::invalid_argument("argmax: empty axis in " + to_string(a.shape()));
  const Tensor ca = a.contiguous();
  const AxisSplit s = split_at(a.shape(), ax);
  const int64_t outer = static_cast<int64_t>(s.outer), n = static_cast<int64_t>(s.n),
                inner = static_cast<int64_t>(s.inner);
  Tensor kept = Tensor::zeros(reduced_shape(a.shape(), {ax}, /*keepdim=*/true));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* line = ca.data() + o * n * inner + i;  // the n values along the axis, `inner` apart
      int64_t best = 0;
      // Ties keep the lowest index; so does a NaN, the maximum of all (as torch.argmax): stop at the first.
      for (int64_t k = 1; k < n && line[best * inner] == line[best * inner]; ++k) {
        if (beats_max(line[k * inner], line[best * inner])) best = k;
      }
      kept.data()[o * inner + i] = static_cast<float>(best);
    }
  }
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
    if (i < lead)
      axes.push_back(i);
    else if (shape[i - lead] == 1 && a.shape()[i] != 1)
      axes.push_back(i);
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
