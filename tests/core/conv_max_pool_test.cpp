// The fused conv + max pool kernels (core/kernels/conv_max_pool.h) against the two kernels run one after
// the other, bit for bit, on every convolution path that applies and several pool windows; against the
// naive reference composition within rounding; and on 1, 2 and 3 threads bit for bit.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "common/kernel_checks.h"
#include "core/batch_reduction.h"
#include "core/kernels/conv_max_pool.h"
#include "core/parallel.h"

namespace qg::kernel {
namespace {

using test::argmax_of;
using test::bits_of;
using test::expect_close;
using test::ThreadCount;

struct Case {
  std::string name;
  Shape input, weight;
  int64_t stride = 1, padding = 0, groups = 1;
  int64_t pool_kernel = 2, pool_stride = 2, pool_padding = 0;
  bool bias = true;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

const char* path_name(ConvPath path) {
  return path == ConvPath::Direct ? "direct" : (path == ConvPath::Shifted ? "shifted" : "gemm");
}

class ConvMaxPool : public ::testing::TestWithParam<Case> {};

TEST_P(ConvMaxPool, EqualsTheConvThenThePoolBitForBit) {
  const Case& c = GetParam();
  Generator gen(31);
  const Tensor x = Tensor::uniform(c.input, -1, 1, gen), w = Tensor::uniform(c.weight, -1, 1, gen);
  const Tensor b = c.bias ? Tensor::uniform({c.weight[0]}, -1, 1, gen) : Tensor();
  const Conv2dGeometry conv = conv2d_geometry(x.shape(), w.shape(), c.stride, c.padding, 1, c.groups);
  const Pool2dGeometry pool =
      pool2d_geometry({conv.batch, conv.out_channels, conv.out_height, conv.out_width}, c.pool_kernel,
                      c.pool_stride, c.pool_padding);
  std::vector<ConvPath> paths{ConvPath::Gemm};
  if (conv2d_direct_applies(conv)) paths.push_back(ConvPath::Direct);
  if (conv2d_shifted_applies(conv)) paths.push_back(ConvPath::Shifted);

  const MaxPool2dResult reference = conv2d_max_pool2d_forward_reference(x, w, b, conv, pool);
  const Tensor gy = Tensor::uniform(reference.output.shape(), -1, 1, gen);
  const Conv2dGrads reference_grads =
      conv2d_max_pool2d_backward_reference(gy, reference.argmax, x, w, conv, pool);
  const Conv2dGradRequest all{true, true, c.bias};
  for (const ConvPath path : paths) {
    const std::string name = c.name + " " + path_name(path);
    const Tensor conv_out = conv2d_forward(x, w, b, conv, path);
    const MaxPool2dResult unfused = max_pool2d_forward(conv_out, pool);
    const MaxPool2dResult fused = conv2d_max_pool2d_forward(x, w, b, conv, pool, path);
    EXPECT_EQ(bits_of(fused.output), bits_of(unfused.output)) << name;
    EXPECT_EQ(argmax_of(fused.argmax), argmax_of(unfused.argmax)) << name;

    const Conv2dGrads unfused_grads =
        conv2d_backward(max_pool2d_backward(gy, unfused.argmax, pool), x, w, conv, all, path);
    const Conv2dGrads fused_grads = conv2d_max_pool2d_backward(gy, fused.argmax, x, w, conv, pool, all, path);
    EXPECT_EQ(bits_of(fused_grads.input), bits_of(unfused_grads.input)) << name << " grad_input";
    EXPECT_EQ(bits_of(fused_grads.weight), bits_of(unfused_grads.weight)) << name << " grad_weight";
    EXPECT_EQ(bits_of(fused_grads.bias), bits_of(unfused_grads.bias)) << name << " grad_bias";

    // The naive composition sums in double and in another order: the same values within rounding. (Its
    // argmax can differ only where a window holds two values within rounding of each other, which random
    // data here does not.)
    expect_close(fused.output, reference.output, name + " output");
    ASSERT_EQ(argmax_of(fused.argmax), argmax_of(reference.argmax)) << name;
    expect_close(fused_grads.input, reference_grads.input, name + " grad_input");
    expect_close(fused_grads.weight, reference_grads.weight, name + " grad_weight");
    if (c.bias) expect_close(fused_grads.bias, reference_grads.bias, name + " grad_bias");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvMaxPool,
    ::testing::Values(Case{"tutorial_conv1", {16, 1, 28, 28}, {40, 1, 3, 3}},
                      Case{"tutorial_grouped", {16, 40, 13, 13}, {40, 2, 3, 3}, 1, 0, 20},
                      Case{"bn_conv2_odd_plane", {5, 40, 13, 13}, {40, 40, 3, 3}},  // 11x11 -> 5x5
                      Case{"padded_overlapping_pool", {3, 3, 12, 11}, {6, 3, 3, 3}, 1, 1, 1, 3, 2, 1},
                      Case{"strided_conv_no_bias", {3, 4, 15, 15}, {8, 4, 3, 3}, 2, 1, 1, 2, 2, 0, false},
                      Case{"large_pool_window", {2, 2, 20, 20}, {3, 2, 3, 3}, 1, 0, 1, 17, 1, 0},
                      Case{"one_image", {1, 2, 9, 9}, {4, 1, 3, 3}, 1, 1, 2, 3, 3, 1}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// The forward tasks and backward slices are the unfused kernels' own, so no thread count changes a bit,
// with ordinary sums and with split-invariant ones (core/batch_reduction.h).
TEST(ConvMaxPool, ResultsDoNotDependOnTheThreadCount) {
  Generator gen(7);
  for (const bool split_invariant : {false, true}) {
    const batch_reduction::ScopedSplitInvariant mode(split_invariant);
    for (const auto& [input, weight, groups] :
         {std::tuple{Shape{64, 1, 28, 28}, Shape{40, 1, 3, 3}, int64_t{1}},
          std::tuple{Shape{33, 8, 10, 10}, Shape{8, 8, 3, 3}, int64_t{1}},
          std::tuple{Shape{20, 6, 14, 14}, Shape{16, 6, 5, 5}, int64_t{1}}}) {  // the GEMM path
      const Tensor x = Tensor::uniform(input, -1, 1, gen), w = Tensor::uniform(weight, -1, 1, gen);
      const Tensor b = Tensor::uniform({weight[0]}, -1, 1, gen);
      const Conv2dGeometry conv = conv2d_geometry(input, weight, 1, 0, 1, groups);
      const Pool2dGeometry pool =
          pool2d_geometry({conv.batch, conv.out_channels, conv.out_height, conv.out_width}, 2, 2, 0);
      std::vector<std::vector<uint32_t>> results;
      for (const int threads : {1, 2, 3}) {
        const ThreadCount scope(threads);
        const MaxPool2dResult out = conv2d_max_pool2d_forward(x, w, b, conv, pool);
        Generator same(9);
        const Tensor gy = Tensor::uniform(out.output.shape(), -1, 1, same);
        const Conv2dGrads grads = conv2d_max_pool2d_backward(gy, out.argmax, x, w, conv, pool, {});
        std::vector<uint32_t> all = bits_of(out.output);
        for (const Tensor& t : {grads.input, grads.weight, grads.bias}) {
          const std::vector<uint32_t> more = bits_of(t);
          all.insert(all.end(), more.begin(), more.end());
        }
        results.push_back(all);
      }
      EXPECT_EQ(results[1], results[0]) << to_string(input) << " split-invariant " << split_invariant;
      EXPECT_EQ(results[2], results[0]) << to_string(input) << " split-invariant " << split_invariant;
    }
  }
}

}  // namespace
}  // namespace qg::kernel
