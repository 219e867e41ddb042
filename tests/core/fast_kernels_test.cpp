// Every fast float kernel against a simple reference: the two convolution paths (direct and im2col + GEMM)
// against the naive seven-loop conv, the 2x2 max-pool path against a naive pool, the broadcasting
// element-wise engine, the reductions and the batch-norm sums against plain loops in double. Float
// results are compared within a tolerance scaled to the magnitude of the values (the fast paths sum in
// another order, with fused multiply-adds where the CPU has them); anything that must not depend on the
// thread count is compared bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/kernel_checks.h"
#include "core/kernels/batch_norm.h"
#include "core/kernels/conv.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/pool.h"
#include "core/kernels/reduce.h"
#include "core/kernels/views.h"
#include "core/parallel.h"

namespace qg::kernel {
namespace {

using test::expect_close;
using test::ThreadCount;

void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) && std::isnan(y[i])) continue;
    ASSERT_EQ(x[i], y[i]) << what << " at element " << i;
  }
}

// ---- convolution --------------------------------------------------------------------------------------

struct ConvCase {
  std::string name;
  Shape input, weight;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

class ConvPaths : public ::testing::TestWithParam<ConvCase> {};

// Every path that applies against the naive loops, forward and all three gradients.
TEST_P(ConvPaths, MatchTheNaiveLoops) {
  const ConvCase& c = GetParam();
  Generator gen(21);
  const Tensor x = Tensor::uniform(c.input, -1, 1, gen), w = Tensor::uniform(c.weight, -1, 1, gen);
  const Tensor b = c.bias ? Tensor::uniform({c.weight[0]}, -1, 1, gen) : Tensor();
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), c.stride, c.padding, c.dilation, c.groups);
  const Tensor expected = conv2d_reference(x, w, b, g);
  const Tensor gy = Tensor::uniform(expected.shape(), -1, 1, gen);
  const Conv2dGrads expected_grads = conv2d_backward_reference(gy, x, w, g);
  std::vector<ConvPath> paths{ConvPath::Gemm};
  if (conv2d_direct_applies(g)) paths.push_back(ConvPath::Direct);
  if (conv2d_shifted_applies(g)) paths.push_back(ConvPath::Shifted);
  for (const ConvPath path : paths) {
    const std::string name =
        c.name + (path == ConvPath::Direct ? " direct" : (path == ConvPath::Shifted ? " shifted" : " gemm"));
    expect_close(conv2d_forward(x, w, b, g, path), expected, name + " output");
    const Conv2dGrads grads = conv2d_backward(gy, x, w, g, {true, true, c.bias}, path);
    expect_close(grads.input, expected_grads.input, name + " grad_input");
    expect_close(grads.weight, expected_grads.weight, name + " grad_weight");
    if (c.bias) expect_close(grads.bias, expected_grads.bias, name + " grad_bias");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvPaths,
    ::testing::Values(ConvCase{"tutorial_conv1_batch64", {64, 1, 28, 28}, {40, 1, 3, 3}},
                      ConvCase{"tutorial_grouped_batch64", {64, 40, 13, 13}, {40, 2, 3, 3}, 1, 0, 1, 20},
                      ConvCase{"tutorial_bn_conv2", {9, 40, 13, 13}, {40, 40, 3, 3}},
                      ConvCase{"direct_padding_dilation", {3, 2, 9, 8}, {6, 1, 3, 3}, 1, 2, 2, 2},
                      ConvCase{"direct_5x5_one_channel", {2, 1, 12, 11}, {3, 1, 5, 5}, 1, 1},
                      ConvCase{"direct_pointwise", {2, 8, 4, 6}, {6, 8, 1, 1}, 1, 0, 1, 1, false},
                      ConvCase{"direct_2x2_taps", {3, 4, 5, 5}, {4, 2, 2, 2}, 1, 1, 1, 2},
                      ConvCase{"direct_narrow_rows", {2, 3, 6, 4}, {5, 3, 3, 3}, 1, 0},   // output rows of 2
                      ConvCase{"direct_rows_of_five", {2, 2, 7, 7}, {7, 2, 3, 3}, 1, 0},  // 5 outputs a row
                      ConvCase{"gemm_stride2", {3, 3, 9, 9}, {4, 3, 3, 3}, 2, 1},
                      ConvCase{"shifted_wide_patch_padding", {2, 12, 7, 7}, {6, 12, 3, 3}, 1, 1},
                      ConvCase{"shifted_groups_dilation", {3, 40, 11, 10}, {8, 20, 3, 2}, 1, 2, 2, 2}),
    [](const ::testing::TestParamInfo<ConvCase>& info) { return info.param.name; });

// The weight and bias gradients are summed per fixed slice of the batch, so the thread count never changes
// a bit of any result.
TEST(ConvPaths, ResultsDoNotDependOnTheThreadCount) {
  Generator gen(5);
  for (const auto& [input, weight, groups] :
       {std::tuple{Shape{64, 1, 28, 28}, Shape{40, 1, 3, 3}, int64_t{1}},
        std::tuple{Shape{33, 8, 10, 10}, Shape{8, 8, 3, 3}, int64_t{1}},
        std::tuple{Shape{64, 40, 13, 13}, Shape{40, 2, 3, 3}, int64_t{20}}}) {
    const Tensor x = Tensor::uniform(input, -1, 1, gen), w = Tensor::uniform(weight, -1, 1, gen);
    const Tensor b = Tensor::uniform({weight[0]}, -1, 1, gen);
    const Conv2dGeometry g = conv2d_geometry(input, weight, 1, 0, 1, groups);
    std::vector<Tensor> outputs;
    std::vector<Conv2dGrads> grads;
    for (const int threads : {1, 2, 3}) {
      const ThreadCount scope(threads);
      outputs.push_back(conv2d_forward(x, w, b, g));
      Generator same(9);
      grads.push_back(conv2d_backward(Tensor::uniform(outputs.back().shape(), -1, 1, same), x, w, g, {}));
    }
    for (size_t i = 1; i < outputs.size(); ++i) {
      expect_identical(outputs[i], outputs[0], "output");
      expect_identical(grads[i].input, grads[0].input, "grad_input");
      expect_identical(grads[i].weight, grads[0].weight, "grad_weight");
      expect_identical(grads[i].bias, grads[0].bias, "grad_bias");
    }
  }
}

// The automatic choice (measured per geometry, core/kernels/conv.cpp): the tutorial's convs keep their
// paths, pointwise convs over many channels go to a GEMM, large kernels and small planes to im2col + GEMM.
TEST(ConvPaths, AutoPathFollowsTheGeometry) {
  const auto path = [](Shape input, Shape weight, int64_t stride, int64_t padding, int64_t groups = 1) {
    return conv2d_auto_path(conv2d_geometry(input, weight, stride, padding, 1, groups));
  };
  EXPECT_EQ(path({64, 1, 28, 28}, {40, 1, 3, 3}, 1, 0), ConvPath::Direct);       // Net's first conv
  EXPECT_EQ(path({64, 40, 13, 13}, {40, 2, 3, 3}, 1, 0, 20), ConvPath::Direct);  // Net's grouped conv
  EXPECT_EQ(path({64, 40, 13, 13}, {40, 40, 3, 3}, 1, 0), ConvPath::Shifted);    // NetBN's, 11x11 out
  EXPECT_EQ(path({64, 16, 28, 28}, {16, 16, 3, 3}, 1, 1), ConvPath::Shifted);    // a ResNet block
  EXPECT_EQ(path({64, 64, 7, 7}, {128, 64, 1, 1}, 1, 0), ConvPath::Shifted);     // 1x1 on a small plane
  EXPECT_EQ(path({64, 32, 28, 28}, {64, 32, 1, 1}, 1, 0), ConvPath::Shifted);    // a MobileNet pointwise conv
  EXPECT_EQ(path({64, 16, 14, 14}, {16, 16, 1, 1}, 1, 0), ConvPath::Shifted);    // ... and a narrow one
  EXPECT_EQ(path({64, 8, 28, 28}, {32, 8, 1, 1}, 1, 0), ConvPath::Direct);       // 1x1 over few channels
  EXPECT_EQ(path({64, 64, 7, 7}, {64, 64, 3, 3}, 1, 1), ConvPath::Gemm);         // 3x3 on a small plane
  EXPECT_EQ(path({64, 6, 14, 14}, {16, 6, 5, 5}, 1, 0), ConvPath::Gemm);         // LeNet-5's second conv
  EXPECT_EQ(path({64, 32, 14, 14}, {32, 32, 7, 7}, 1, 3), ConvPath::Gemm);       // a 7x7 conv
  EXPECT_EQ(path({64, 32, 28, 28}, {64, 32, 3, 3}, 2, 1), ConvPath::Gemm);       // strided
}

TEST(ConvPaths, ForcingAPathWhereItCannotRunThrows) {
  const Conv2dGeometry g = conv2d_geometry({1, 1, 9, 9}, {2, 1, 3, 3}, 2, 0, 1, 1);
  EXPECT_FALSE(conv2d_direct_applies(g));
  EXPECT_FALSE(conv2d_shifted_applies(g));
  for (const ConvPath path : {ConvPath::Direct, ConvPath::Shifted}) {
    EXPECT_THROW(conv2d_forward(Tensor::zeros({1, 1, 9, 9}), Tensor::zeros({2, 1, 3, 3}), Tensor(), g, path),
                 std::invalid_argument);
  }
}

// ---- max pooling ----------------------------------------------------------------------------------------

// The definition: first maximum in row-major window order, a NaN wins (the last NaN), padding never wins.
struct NaivePool {
  Tensor output, grad_input;
};

NaivePool naive_max_pool(const Tensor& x, const Tensor& gy, int64_t kernel, int64_t stride, int64_t padding) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1;
  std::vector<float> in = x.to_vector(), grad = gy.to_vector(), out(static_cast<size_t>(n * c * oh * ow));
  std::vector<float> dx(in.size(), 0.0f);
  for (int64_t p = 0; p < n * c; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        int64_t best = -1;
        for (int64_t a = 0; a < kernel; ++a) {
          for (int64_t b = 0; b < kernel; ++b) {
            const int64_t r = i * stride - padding + a, s = j * stride - padding + b;
            if (r < 0 || r >= h || s < 0 || s >= w) continue;
            const int64_t at = p * h * w + r * w + s;
            if (best < 0 || in[at] > in[best] || std::isnan(in[at])) best = at;
          }
        }
        const int64_t o = (p * oh + i) * ow + j;
        out[o] = in[best];
        dx[best] += grad[o];
      }
    }
  }
  return {Tensor::from_vector(out, {n, c, oh, ow}), Tensor::from_vector(dx, x.shape())};
}

TEST(MaxPoolFastPath, TwoByTwoMatchesTheDefinitionOnEveryWidth) {
  Generator gen(8);
  for (int64_t width = 2; width <= 21; ++width) {
    for (const int64_t height : {2, 3, 7}) {
      Tensor x = Tensor::uniform({2, 3, height, width}, -1, 1, gen);
      // Ties and NaNs: the first of equal maxima wins, a NaN always wins.
      x.data()[0] = x.data()[1] = 5.0f;
      if (x.numel() > 10) x.data()[9] = std::numeric_limits<float>::quiet_NaN();
      const Pool2dGeometry g = pool2d_geometry(x.shape(), 2, 2, 0);
      const MaxPool2dResult fast = max_pool2d_forward(x, g);
      const Tensor gy = Tensor::uniform(fast.output.shape(), -1, 1, gen);
      const NaivePool naive = naive_max_pool(x, gy, 2, 2, 0);
      const std::string what = "2x2 pool of " + to_string(x.shape());
      expect_identical(fast.output, naive.output, what);
      expect_identical(max_pool2d_backward(gy, fast.argmax, g), naive.grad_input, what + " backward");
    }
  }
}

TEST(MaxPoolFastPath, OtherWindowsAndLargeKernelsMatchTheDefinition) {
  Generator gen(9);
  struct Window {
    Shape input;
    int64_t kernel, stride, padding;
  };
  for (const Window& w : {Window{{2, 3, 9, 8}, 3, 2, 1}, Window{{1, 2, 6, 6}, 2, 1, 0},
                          Window{{1, 2, 20, 19}, 17, 1, 0}, Window{{2, 1, 40, 40}, 20, 20, 0}}) {
    const Tensor x = Tensor::uniform(w.input, -1, 1, gen);
    const Pool2dGeometry g = pool2d_geometry(x.shape(), w.kernel, w.stride, w.padding);
    const MaxPool2dResult fast = max_pool2d_forward(x, g);
    EXPECT_EQ(fast.argmax.small.empty(), w.kernel > 16);  // one-byte positions up to 16x16 windows
    const Tensor gy = Tensor::uniform(fast.output.shape(), -1, 1, gen);
    const NaivePool naive = naive_max_pool(x, gy, w.kernel, w.stride, w.padding);
    expect_identical(fast.output, naive.output, "pool k" + std::to_string(w.kernel));
    expect_close(max_pool2d_backward(gy, fast.argmax, g), naive.grad_input,
                 "pool backward k" + std::to_string(w.kernel));
  }
}

// Every window the layers accept (kernel, stride, padding <= kernel/2), on odd and even sizes, against the
// one-output-at-a-time reference paths: forward values, argmax and both backward passes bit-identical.
TEST(PoolFastPath, AnyWindowIsBitIdenticalToTheReferencePaths) {
  Generator gen(10);
  int checked = 0;
  for (const int64_t kernel : {1, 2, 3, 4, 5, 7, 17}) {
    for (const int64_t stride : {1, 2, 3, 4}) {
      for (int64_t padding = 0; padding <= kernel / 2; ++padding) {
        for (const Shape& shape : {Shape{2, 3, 13, 14}, Shape{1, 2, 20, 9}, Shape{1, 1, 31, 40}}) {
          if (shape[2] + 2 * padding < kernel || shape[3] + 2 * padding < kernel) continue;
          Tensor x = Tensor::uniform(shape, -1, 1, gen);
          // Ties (a run of equal values, so overlapping windows see equal maxima), -inf, and a NaN.
          for (int64_t i = 5; i < 12; ++i)
            x.data()[i] = 0.75f;
          x.data()[30] = -std::numeric_limits<float>::infinity();
          x.data()[x.numel() / 2] = std::numeric_limits<float>::quiet_NaN();
          const Pool2dGeometry g = pool2d_geometry(shape, kernel, stride, padding);
          const std::string what = "k" + std::to_string(kernel) + " s" + std::to_string(stride) + " p" +
                                   std::to_string(padding) + " " + to_string(shape);
          const MaxPool2dResult fast = max_pool2d_forward(x, g), ref = max_pool2d_forward_reference(x, g);
          expect_identical(fast.output, ref.output, "max " + what);
          ASSERT_TRUE(std::equal(fast.argmax.small.begin(), fast.argmax.small.end(), ref.argmax.small.begin(),
                                 ref.argmax.small.end()) &&
                      std::equal(fast.argmax.large.begin(), fast.argmax.large.end(), ref.argmax.large.begin(),
                                 ref.argmax.large.end()))
              << "argmax " << what;
          const Tensor gy = Tensor::uniform(fast.output.shape(), -1, 1, gen);
          expect_identical(max_pool2d_backward(gy, fast.argmax, g),
                           max_pool2d_backward_reference(gy, ref.argmax, g), "max backward " + what);
          const Tensor finite = Tensor::uniform(shape, -1, 1, gen);
          expect_identical(avg_pool2d_forward(finite, g), avg_pool2d_forward_reference(finite, g),
                           "avg " + what);
          expect_identical(avg_pool2d_backward(gy, g), avg_pool2d_backward_reference(gy, g),
                           "avg backward " + what);
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 150);
}

// The reference paths are the definition (the test's own naive loop) on windows with padding and overlap.
TEST(PoolFastPath, ReferencePathsMatchTheDefinition) {
  Generator gen(11);
  const Tensor x = Tensor::uniform({2, 2, 11, 12}, -1, 1, gen);
  const Pool2dGeometry g = pool2d_geometry(x.shape(), 3, 2, 1);
  const MaxPool2dResult ref = max_pool2d_forward_reference(x, g);
  const Tensor gy = Tensor::uniform(ref.output.shape(), -1, 1, gen);
  const NaivePool naive = naive_max_pool(x, gy, 3, 2, 1);
  expect_identical(ref.output, naive.output, "reference max pool");
  expect_close(max_pool2d_backward_reference(gy, ref.argmax, g), naive.grad_input, "reference max backward");
}

// ---- element-wise ---------------------------------------------------------------------------------------

// a op b by the definition: every output index mapped back to each operand (broadcast dims read index 0).
Tensor naive_binary(const Tensor& a, const Tensor& b, float (*op)(float, float)) {
  const Shape out = broadcast_shapes(a.shape(), b.shape(), "test");
  Tensor result = Tensor::zeros(out);
  std::vector<int64_t> index(out.size(), 0);
  for (int64_t i = 0; i < result.numel(); ++i) {
    int64_t rest = i;
    for (size_t d = out.size(); d-- > 0;) {
      index[d] = rest % out[d];
      rest /= out[d];
    }
    auto read = [&](const Tensor& t) {
      int64_t pos = t.offset();
      const size_t lead = out.size() - t.shape().size();
      for (size_t d = 0; d < t.shape().size(); ++d)
        pos += (t.shape()[d] == 1 ? 0 : index[lead + d]) * t.strides()[d];
      return t.impl().storage->data()[pos];
    };
    result.data()[i] = op(read(a), read(b));
  }
  return result;
}

TEST(ElementwiseEngine, BroadcastsAndStridesMatchTheDefinition) {
  Generator gen(10);
  struct Pair {
    Shape a, b;
  };
  for (const Pair& p :
       {Pair{{64, 40, 26, 26}, {1, 40, 1, 1}}, Pair{{3, 1, 5}, {4, 1}}, Pair{{7}, {}},
        Pair{{2, 3, 4}, {2, 3, 4}}, Pair{{1}, {5, 1, 3}}, Pair{{40, 1, 1, 1}, {40, 2, 3, 3}}}) {
    const Tensor a = Tensor::uniform(p.a, -2, 2, gen), b = Tensor::uniform(p.b, 0.5f, 2, gen);
    const std::string what = to_string(p.a) + " with " + to_string(p.b);
    expect_identical(add(a, b), naive_binary(a, b, [](float x, float y) { return x + y; }), "add " + what);
    expect_identical(sub(a, b), naive_binary(a, b, [](float x, float y) { return x - y; }), "sub " + what);
    expect_identical(mul(a, b), naive_binary(a, b, [](float x, float y) { return x * y; }), "mul " + what);
    expect_identical(div(a, b), naive_binary(a, b, [](float x, float y) { return x / y; }), "div " + what);
  }
  // Strided (transposed) operands.
  const Tensor m = Tensor::uniform({6, 9}, -1, 1, gen), n = Tensor::uniform({9, 6}, -1, 1, gen);
  const Tensor mt = transpose(m, 0, 1);
  expect_identical(add(mt, n), naive_binary(mt, n, [](float x, float y) { return x + y; }), "transposed add");
  expect_identical(relu(mt).contiguous(), relu(mt.contiguous()), "relu of a transposed view");
}

TEST(ElementwiseEngine, LargeTensorsDoNotDependOnTheThreadCount) {
  Generator gen(12);
  const Tensor x = Tensor::uniform({64, 40, 26, 26}, -1, 1, gen),
               g = Tensor::uniform({64, 40, 26, 26}, -1, 1, gen);
  Tensor one, two;
  {
    const ThreadCount scope(1);
    one = relu_backward(g, x);
  }
  {
    const ThreadCount scope(2);
    two = relu_backward(g, x);
  }
  expect_identical(one, two, "relu_backward");
  const std::vector<float> xs = x.to_vector(), gs = g.to_vector(), r = one.to_vector();
  for (size_t i = 0; i < r.size(); ++i)
    ASSERT_EQ(r[i], xs[i] > 0 ? gs[i] : 0.0f) << i;
}

// relu(NaN) is NaN, as torch.relu (issue 10: mapping it to 0 hid diverged layers; see NaNPropagation).
TEST(ElementwiseEngine, ReluKeepsNanAndAxpyScaleUpdateInPlace) {
  const Tensor x = Tensor::from_vector({-1.0f, 0.0f, 2.0f, std::numeric_limits<float>::quiet_NaN()}, {4});
  const std::vector<float> y = relu(x).to_vector();
  EXPECT_EQ(std::vector<float>(y.begin(), y.begin() + 3), (std::vector<float>{0.0f, 0.0f, 2.0f}));
  EXPECT_TRUE(std::isnan(y[3]));
  Tensor d = Tensor::from_vector({1, 2, 3}, {3});
  axpy(d, Tensor::from_vector({10, 20, 30}, {3}), 0.5f);
  EXPECT_EQ(d.to_vector(), (std::vector<float>{6, 12, 18}));
  scale(d, 2.0f);
  EXPECT_EQ(d.to_vector(), (std::vector<float>{12, 24, 36}));
  axpy(d, d, 1.0f);  // the source may be the destination
  EXPECT_EQ(d.to_vector(), (std::vector<float>{24, 48, 72}));
}

// ---- reductions -------------------------------------------------------------------------------------------

TEST(Reductions, SumMaxMinMatchPlainLoopsOverEveryAxis) {
  Generator gen(13);
  const Tensor a = Tensor::uniform({5, 7, 300}, -3, 3, gen);
  const std::vector<float> v = a.to_vector();
  for (int64_t axis = 0; axis < 3; ++axis) {
    const Tensor s = sum(a, {axis}), mx = max(a, axis), mn = min(a, axis);
    const Shape& shape = a.shape();
    const int64_t outer = axis == 0 ? 1 : (axis == 1 ? shape[0] : shape[0] * shape[1]);
    const int64_t n = shape[axis];
    const int64_t inner = axis == 2 ? 1 : (axis == 1 ? shape[2] : shape[1] * shape[2]);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        double total = 0;
        float hi = -INFINITY, lo = INFINITY;
        for (int64_t k = 0; k < n; ++k) {
          const float x = v[static_cast<size_t>((o * n + k) * inner + i)];
          total += x;
          hi = std::max(hi, x);
          lo = std::min(lo, x);
        }
        const int64_t at = o * inner + i;
        ASSERT_NEAR(s.data()[at], total, 1e-4) << "axis " << axis;
        ASSERT_EQ(mx.data()[at], hi) << "axis " << axis;
        ASSERT_EQ(mn.data()[at], lo) << "axis " << axis;
      }
    }
  }
}

TEST(Reductions, LongRowsSplitIntoBlocksGiveTheSameResultOnAnyThreadCount) {
  Generator gen(14);
  const Tensor a = Tensor::uniform({1 << 20}, -1, 1, gen);
  Tensor s1, s2, m1, m2;
  {
    const ThreadCount scope(1);
    s1 = sum(a);
    m1 = max(a, 0);
  }
  {
    const ThreadCount scope(3);
    s2 = sum(a);
    m2 = max(a, 0);
  }
  EXPECT_EQ(s1.item(), s2.item());
  EXPECT_EQ(m1.item(), m2.item());
  double total = 0;
  for (float x : a.to_vector())
    total += x;
  EXPECT_NEAR(s1.item(), total, 1e-3);
}

TEST(Reductions, MaxAndMinPropagateNaN) {
  std::vector<float> values(100, 1.0f);
  values[57] = std::numeric_limits<float>::quiet_NaN();
  const Tensor a = Tensor::from_vector(values, {100});
  EXPECT_TRUE(std::isnan(max(a, 0).item()));
  EXPECT_TRUE(std::isnan(min(a, 0).item()));
  EXPECT_TRUE(std::isnan(max(Tensor::from_vector({2, NAN, 1}, {3}), 0).item()));
}

// ---- batch norm
// ---------------------------------------------------------------------------------------------

TEST(BatchNormKernels, StatisticsAndGradientSumsMatchDoublePrecisionLoops) {
  Generator gen(15);
  const Tensor x = Tensor::uniform({9, 5, 7, 6}, -2, 3, gen), g = Tensor::uniform({9, 5, 7, 6}, -1, 1, gen);
  const ChannelLayout l = channel_layout(x.shape());
  const ChannelStats stats = channel_statistics(x, l);
  const ChannelGradSums sums = channel_grad_sums(GradPlanes(g, l), x, stats.mean, l);
  const std::vector<float> xv = x.to_vector(), gv = g.to_vector();
  for (int64_t c = 0; c < l.channels; ++c) {
    double total = 0, squares = 0, grad = 0, centred = 0;
    for (int64_t n = 0; n < l.batch; ++n)
      for (int64_t s = 0; s < l.spatial; ++s)
        total += xv[static_cast<size_t>((n * l.channels + c) * l.spatial + s)];
    const double mean = total / static_cast<double>(l.count());
    for (int64_t n = 0; n < l.batch; ++n) {
      for (int64_t s = 0; s < l.spatial; ++s) {
        const size_t i = static_cast<size_t>((n * l.channels + c) * l.spatial + s);
        squares += (xv[i] - mean) * (xv[i] - mean);
        grad += gv[i];
        centred += gv[i] * (xv[i] - stats.mean[static_cast<size_t>(c)]);
      }
    }
    EXPECT_NEAR(stats.mean[static_cast<size_t>(c)], mean, 1e-6);
    EXPECT_NEAR(stats.var[static_cast<size_t>(c)], squares / static_cast<double>(l.count()), 1e-5);
    EXPECT_NEAR(sums.grad[static_cast<size_t>(c)], grad, 1e-4);
    EXPECT_NEAR(sums.grad_centered[static_cast<size_t>(c)], centred, 1e-4);
  }
}

}  // namespace
}  // namespace qg::kernel
