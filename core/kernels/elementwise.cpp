// Element-wise kernels. Every kernel is a loop over the output in row-major order:
//
// * the operands' shapes are broadcast against each other, then adjacent dimensions that are laid out
//   back to back in every operand are merged (a [64,40,26,26] minus a [1,40,1,1] becomes [64,40,676] with
//   the second operand constant along the last axis), so the innermost loop is long and each operand moves
//   along it with step 1 (contiguous) or 0 (broadcast): plain loops that GCC vectorises;
// * large outputs are cut into blocks of rows shared between threads (core/parallel.h); every element is
//   computed by one thread with the same code, so results do not depend on the thread count.
#include "core/kernels/elementwise.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

#include "core/parallel.h"
#include "core/simd.h"

namespace qg::kernel {

namespace {

// Outputs smaller than this are computed on the calling thread.
constexpr int64_t kParallelElements = int64_t{1} << 15;
constexpr int64_t kBlockElements = int64_t{1} << 14;

// An operand of a broadcast loop: where it starts and its step along each output dimension (0 where it
// is broadcast).
struct Operand {
  const float* data;
  Shape strides;
};

// A broadcast loop after dimension merging: `shape` ends with the innermost dimension.
struct Loop {
  Shape shape;
  Operand a, b;
};

// The strides of `t` for the output shape `out` (right-aligned, 0 on broadcast dimensions).
Shape broadcast_strides(const Tensor& t, const Shape& out) {
  Shape strides(out.size(), 0);
  const size_t lead = out.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (t.shape()[i] != 1) strides[lead + i] = t.strides()[i];
  }
  return strides;
}

// Merges dimension i into i+1 wherever both operands step through them as one longer dimension.
Loop make_loop(const Tensor& a, const Tensor& b, const Shape& out) {
  Loop loop{{}, {a.data(), {}}, {b.data(), {}}};
  const Shape sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;  // size-1 dimensions never move
    if (!loop.shape.empty()) {
      const int64_t inner = out[i];
      const bool mergeable = loop.a.strides.back() == sa[i] * inner && loop.b.strides.back() == sb[i] * inner;
      if (mergeable) {
        loop.shape.back() *= inner;
        loop.a.strides.back() = sa[i];
        loop.b.strides.back() = sb[i];
        continue;
      }
    }
    loop.shape.push_back(out[i]);
    loop.a.strides.push_back(sa[i]);
    loop.b.strides.push_back(sb[i]);
  }
  if (loop.shape.empty()) {  // a single element
    loop.shape = {1};
    loop.a.strides = {0};
    loop.b.strides = {0};
  }
  return loop;
}

// out[i] = op(a[i * step_a], b[i * step_b]) for i < n, with the common step patterns spelled out so that
// each becomes a vectorised loop.
template <class Op>
QG_SIMD_CLONES void binary_row(const float* __restrict a, int64_t step_a, const float* __restrict b,
                               int64_t step_b, float* __restrict out, int64_t n, Op op) {
  if (step_a == 1 && step_b == 1) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = op(a[i], b[i]);
  } else if (step_a == 1 && step_b == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i)
      out[i] = op(a[i], bv);
  } else if (step_a == 0 && step_b == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i)
      out[i] = op(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      out[i] = op(a[i * step_a], b[i * step_b]);
  }
}

// Runs binary_row over every innermost row of `loop`, writing the contiguous output `out`; rows are
// shared between threads in blocks.
template <class Op>
void run_loop(const Loop& loop, float* out, Op op) {
  const size_t rank = loop.shape.size();
  const int64_t row = loop.shape.back();
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d)
    rows *= loop.shape[d];
  // Long rows are cut into pieces too, so that a single huge row still spreads over the threads.
  const int64_t piece = row * rows >= kParallelElements ? std::min(row, kBlockElements) : row;
  const int64_t pieces_per_row = (row + piece - 1) / piece;
  const int64_t rows_per_task = std::max<int64_t>(1, kBlockElements / std::max<int64_t>(piece, 1));
  const int64_t tasks =
      row * rows >= kParallelElements ? parallel::task_count(rows * pieces_per_row, rows_per_task) : 1;
  const int64_t units = rows * pieces_per_row;
  parallel::parallel_for(tasks, [&](int64_t task) {
    const int64_t first = tasks == 1 ? 0 : task * rows_per_task;
    const int64_t last = tasks == 1 ? units : std::min(units, first + rows_per_task);
    for (int64_t unit = first; unit < last; ++unit) {
      const int64_t r = unit / pieces_per_row, begin = (unit % pieces_per_row) * piece;
      // The offsets of row r in each operand: its multi-index over all but the innermost dimension.
      int64_t rest = r, offset_a = 0, offset_b = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t i = rest % loop.shape[d];
        rest /= loop.shape[d];
        offset_a += i * loop.a.strides[d];
        offset_b += i * loop.b.strides[d];
      }
      const int64_t step_a = loop.a.strides.back(), step_b = loop.b.strides.back();
      binary_row(loop.a.data + offset_a + begin * step_a, step_a, loop.b.data + offset_b + begin * step_b,
                 step_b, out + r * row + begin, std::min(piece, row - begin), op);
    }
  });
}

template <class Op>
Tensor binary(const Tensor& a, const Tensor& b, const char* name, Op op) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape);
  if (out.numel() > 0) run_loop(make_loop(a, b, shape), out.data(), op);
  return out;
}

// A unary op is a binary one whose second operand is never read.
template <class Op>
Tensor unary(const Tensor& a, Op op) {
  Tensor out = Tensor::empty(a.shape());
  if (out.numel() > 0) {
    run_loop(make_loop(a, a, a.shape()), out.data(), [op](float x, float) { return op(x); });
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary(a, b, "add", [](float x, float y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary(a, b, "sub", [](float x, float y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(a, b, "mul", [](float x, float y) { return x * y; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary(a, b, "div", [](float x, float y) { return x / y; });
}

Tensor add_scalar(const Tensor& a, float s) {
  return unary(a, [s](float x) { return x + s; });
}
Tensor mul_scalar(const Tensor& a, float s) {
  return unary(a, [s](float x) { return x * s; });
}
Tensor pow_scalar(const Tensor& a, float exponent) {
  return unary(a, [exponent](float x) { return std::pow(x, exponent); });
}
Tensor neg(const Tensor& a) {
  return unary(a, [](float x) { return -x; });
}
Tensor exp(const Tensor& a) {
  return unary(a, [](float x) { return std::exp(x); });
}
Tensor log(const Tensor& a) {
  return unary(a, [](float x) { return std::log(x); });
}
Tensor sqrt(const Tensor& a) {
  return unary(a, [](float x) { return std::sqrt(x); });
}
// ReLU and clamp propagate NaN, as PyTorch's do: each test is written so that it is false for NaN, which
// then falls through to x. (The obvious `x > 0 ? x : 0` maps NaN to 0, hiding a diverged layer from the
// training's non-finite guard.)
Tensor relu(const Tensor& a) {
  return unary(a, [](float x) { return x <= 0.0f ? 0.0f : x; });
}
Tensor clamp(const Tensor& a, float low, float high) {
  return unary(a, [low, high](float x) { return x < low ? low : (x > high ? high : x); });
}

Tensor relu_backward(const Tensor& grad, const Tensor& x) {
  if (grad.shape() != x.shape()) {
    throw std::invalid_argument("relu_backward: gradient " + to_string(grad.shape()) + " vs input " +
                                to_string(x.shape()));
  }
  // PyTorch's threshold_backward: 0 where x <= 0, else the gradient, so a NaN input passes it on.
  return binary(grad, x, "relu_backward", [](float g, float v) { return v <= 0.0f ? 0.0f : g; });
}

namespace {

// dst[i] = op(dst[i], src[i * step]) in place over a contiguous dst (no restrict: src may alias dst).
template <class Op>
QG_SIMD_CLONES void update_row(float* dst, const float* src, int64_t step, int64_t n, Op op) {
  if (step == 1) {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = op(dst[i], src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = op(dst[i], src[i * step]);
  }
}

// update_row over all of `dst` (contiguous), with `src` of the same shape and any strides.
template <class Op>
void update(Tensor& dst, const Tensor& src, Op op) {
  assert(dst.is_contiguous());
  const Tensor s = src.contiguous();
  const int64_t n = dst.numel();
  const int64_t tasks = n >= kParallelElements ? parallel::task_count(n, kBlockElements) : 1;
  float* d = dst.data();
  const float* v = s.data();
  parallel::parallel_for(tasks, [&](int64_t task) {
    const int64_t first = task * kBlockElements;
    const int64_t count = tasks == 1 ? n : std::min(kBlockElements, n - first);
    update_row(d + first, v + first, 1, count, op);
  });
}

}  // namespace

void axpy(Tensor& dst, const Tensor& src, float alpha) {
  if (dst.shape() != src.shape()) {
    throw std::invalid_argument("axpy: shapes " + to_string(dst.shape()) + " and " + to_string(src.shape()) +
                                " differ");
  }
  update(dst, src, [alpha](float d, float s) { return d + alpha * s; });
}

void scale(Tensor& dst, float s) {
  update(dst, dst, [s](float d, float) { return d * s; });
}

}  // namespace qg::kernel
