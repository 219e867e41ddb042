// The fused batch-norm normalise + max pool kernels (core/kernels/batch_norm_max_pool.h) against
// channel_affine then max_pool2d_forward, and max_pool2d_backward then the batch-norm backward kernels,
// bit for bit, for several pool windows and negative scales (which make the window's largest input its
// smallest output); against the naive reference pool within rounding; and on 1, 2 and 3 threads, with
// ordinary and split-invariant sums, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/kernel_checks.h"
#include "core/batch_reduction.h"
#include "core/kernels/batch_norm_max_pool.h"

namespace qg::kernel {
namespace {

using test::argmax_of;
using test::bits_of;
using test::expect_close;
using test::ThreadCount;

struct Case {
  std::string name;
  Shape input;
  int64_t pool_kernel = 2, pool_stride = 2, pool_padding = 0;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

// Per-channel scale and shift as batch_norm makes them from x's statistics, with every third channel's
// scale negated (a negative BatchNorm weight).
struct Normalisation {
  ChannelStats stats;
  std::vector<float> scale, shift;
};
Normalisation normalisation_of(const Tensor& x, const ChannelLayout& l) {
  Normalisation n{channel_statistics(x, l), {}, {}};
  for (int64_t c = 0; c < l.channels; ++c) {
    const float sign = c % 3 == 2 ? -1.0f : 1.0f;
    n.scale.push_back(sign * (0.5f + 0.1f * static_cast<float>(c)) / std::sqrt(n.stats.var[c] + 1e-5f));
    n.shift.push_back(0.25f - n.stats.mean[c] * n.scale.back());
  }
  return n;
}

// What the batch-norm backward computes from a gradient source: the two sums and the input gradient,
// with training's a and b.
struct Backward {
  ChannelGradSums sums;
  Tensor input;
};
Backward backward(const GradPlanes& grad, const Tensor& x, const Normalisation& n, const ChannelLayout& l) {
  Backward out{channel_grad_sums(grad, x, n.stats.mean, l), Tensor()};
  std::vector<float> a, b;
  for (int64_t c = 0; c < l.channels; ++c) {
    a.push_back(static_cast<float>(out.sums.grad[c] / static_cast<double>(out.sums.count)));
    b.push_back(static_cast<float>(out.sums.grad_centered[c] / static_cast<double>(out.sums.count)));
  }
  out.input = channel_input_grad(grad, x, n.stats.mean, n.scale, a, b, l);
  return out;
}

class BatchNormMaxPool : public ::testing::TestWithParam<Case> {};

TEST_P(BatchNormMaxPool, EqualsTheNormalisationThenThePoolBitForBit) {
  const Case& c = GetParam();
  Generator gen(17);
  const Tensor x = Tensor::uniform(c.input, -2, 3, gen);
  const ChannelLayout l = channel_layout(x.shape());
  const Pool2dGeometry pool = pool2d_geometry(x.shape(), c.pool_kernel, c.pool_stride, c.pool_padding);
  const Normalisation n = normalisation_of(x, l);

  const Tensor normalised = channel_affine(x, n.scale, n.shift, l);
  const MaxPool2dResult unfused = max_pool2d_forward(normalised, pool);
  const MaxPool2dResult fused = channel_affine_max_pool2d(x, n.scale, n.shift, l, pool);
  EXPECT_EQ(bits_of(fused.output), bits_of(unfused.output)) << c.name;
  EXPECT_EQ(argmax_of(fused.argmax), argmax_of(unfused.argmax)) << c.name;
  // The naive pool of the normalised tensor: the same maxima (a max is exact).
  const MaxPool2dResult reference = max_pool2d_forward_reference(normalised, pool);
  EXPECT_EQ(bits_of(fused.output), bits_of(reference.output)) << c.name;
  EXPECT_EQ(argmax_of(fused.argmax), argmax_of(reference.argmax)) << c.name;

  const Tensor gy = Tensor::uniform(fused.output.shape(), -1, 1, gen);
  const Tensor unpooled = max_pool2d_backward(gy, unfused.argmax, pool);
  const Backward expected = backward(GradPlanes(unpooled, l), x, n, l);
  const Backward actual = backward(max_pool2d_grad_planes(gy, fused.argmax, pool), x, n, l);
  EXPECT_EQ(actual.sums.grad, expected.sums.grad) << c.name;
  EXPECT_EQ(actual.sums.grad_centered, expected.sums.grad_centered) << c.name;
  EXPECT_EQ(bits_of(actual.input), bits_of(expected.input)) << c.name;

  // And the unpooled planes are the reference unpooling's, within the rounding of overlapping windows'
  // sums.
  const Tensor reference_unpooled = max_pool2d_backward_reference(gy, reference.argmax, pool);
  const GradPlanes planes = max_pool2d_grad_planes(gy, fused.argmax, pool);
  Tensor made = Tensor::empty(x.shape());
  for (int64_t i = 0; i < l.batch; ++i) {
    for (int64_t ch = 0; ch < l.channels; ++ch) {
      const float* plane = planes.plane(i, ch);
      std::copy(plane, plane + l.spatial, made.data() + (i * l.channels + ch) * l.spatial);
    }
  }
  expect_close(made, reference_unpooled, c.name + " unpooled");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, BatchNormMaxPool,
    ::testing::Values(Case{"netbn_first_layer", {16, 40, 26, 26}},
                      Case{"odd_plane", {5, 6, 11, 11}},  // 11x11 -> 5x5, the last row and column unread
                      Case{"overlapping_padded", {3, 4, 12, 11}, 3, 2, 1},
                      Case{"large_window", {2, 3, 20, 20}, 17, 1, 0},
                      Case{"one_image", {1, 2, 9, 9}, 3, 3, 1}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(BatchNormMaxPool, ResultsDoNotDependOnTheThreadCount) {
  Generator gen(5);
  for (const bool split_invariant : {false, true}) {
    const batch_reduction::ScopedSplitInvariant mode(split_invariant);
    for (const Shape& shape : {Shape{64, 40, 26, 26}, Shape{33, 8, 10, 10}}) {
      const Tensor x = Tensor::uniform(shape, -1, 1, gen);
      const ChannelLayout l = channel_layout(shape);
      const Pool2dGeometry pool = pool2d_geometry(shape, 2, 2, 0);
      std::vector<std::vector<uint32_t>> results;
      for (const int threads : {1, 2, 3}) {
        const ThreadCount scope(threads);
        const Normalisation n = normalisation_of(x, l);
        const MaxPool2dResult out = channel_affine_max_pool2d(x, n.scale, n.shift, l, pool);
        Generator same(9);
        const Tensor gy = Tensor::uniform(out.output.shape(), -1, 1, same);
        const Backward d = backward(max_pool2d_grad_planes(gy, out.argmax, pool), x, n, l);
        std::vector<uint32_t> all = bits_of(out.output);
        const std::vector<uint32_t> input_bits = bits_of(d.input);
        all.insert(all.end(), input_bits.begin(), input_bits.end());
        for (const std::vector<double>* sums : {&d.sums.grad, &d.sums.grad_centered}) {
          for (const double v : *sums) {  // a double's two halves
            all.push_back(static_cast<uint32_t>(std::bit_cast<uint64_t>(v)));
            all.push_back(static_cast<uint32_t>(std::bit_cast<uint64_t>(v) >> 32));
          }
        }
        results.push_back(all);
      }
      EXPECT_EQ(results[1], results[0]) << to_string(shape) << " split-invariant " << split_invariant;
      EXPECT_EQ(results[2], results[0]) << to_string(shape) << " split-invariant " << split_invariant;
    }
  }
}

}  // namespace
}  // namespace qg::kernel
