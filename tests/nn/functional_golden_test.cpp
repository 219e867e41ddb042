// Forward values and gradients of the nn ops checked against golden values:
//  1. PyTorch's, stored in tests/fixtures/*.json by tests/fixtures/make_fixtures.py (see its header for the
//     format). Each case's gradients are those of L = sum(output * projection), projection stored too.
//  2. The naive seven-loop convolution of core/kernels/conv.h, against which the fast im2col + GEMM path
//     is checked on shapes with stride, padding, dilation and groups, including the tutorial model's; the
//     plain loop of global_avg_pool2d_reference, against which the per-plane sums are checked.
// Every comparison prints its max |diff|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "autograd/ops.h"
#include "common/torch_fixtures.h"
#include "core/kernels/conv.h"
#include "nn/functional.h"
#include "nn/layers.h"

namespace qg::nn::functional {
namespace {

using qg::testing::check_against_torch;
using qg::testing::check_fixture_file;
using qg::testing::expect_close;
using qg::testing::json;
using qg::testing::Leaves;
using qg::testing::load_fixture;
using qg::testing::tensor_from;
using qg::testing::Tolerance;

TEST(GoldenTorch, Conv2d) {
  check_fixture_file("conv2d.json", [](const json& c) {
    const json& o = c.at("options");
    const Conv2dOptions options{o.at("stride"), o.at("padding"), o.at("dilation"), o.at("groups")};
    return check_against_torch(c, {"input", "weight", "bias"}, [&](const Leaves& l) {
      return conv2d(l.at("input"), l.at("weight"), l.at("bias"), options);
    });
  });
}

TEST(GoldenTorch, Pooling) {
  check_fixture_file("pooling.json", [](const json& c) {
    const json& o = c.at("options");
    const Pool2dOptions options{o.at("kernel_size"), o.at("stride"), o.at("padding")};
    const bool max = o.at("kind") == "max";
    return check_against_torch(c, {"input"}, [&](const Leaves& l) {
      return max ? max_pool2d(l.at("input"), options) : avg_pool2d(l.at("input"), options);
    });
  });
}

TEST(GoldenTorch, Linear) {
  check_fixture_file("linear.json", [](const json& c) {
    return check_against_torch(c, {"input", "weight", "bias"}, [](const Leaves& l) {
      return linear(l.at("input"), l.at("weight"), l.at("bias"));
    });
  });
}

TEST(GoldenTorch, BatchNorm) {
  check_fixture_file("batch_norm.json", [](const json& c) {
    const json& o = c.at("options");
    const BatchNormOptions options{o.at("training"), o.at("momentum"), o.at("eps")};
    Tensor running_mean = tensor_from(c.at("running_mean")), running_var = tensor_from(c.at("running_var"));
    double worst = check_against_torch(c, {"input", "weight", "bias"}, [&](const Leaves& l) {
      return batch_norm(l.at("input"), running_mean, running_var, l.at("weight"), l.at("bias"), options);
    });
    if (options.training) {
      worst = std::max(worst,
                       expect_close(running_mean, tensor_from(c.at("running_mean_after")), "running_mean"));
      worst =
          std::max(worst, expect_close(running_var, tensor_from(c.at("running_var_after")), "running_var"));
    } else {
      EXPECT_EQ(running_mean.to_vector(), tensor_from(c.at("running_mean")).to_vector())
          << "eval changed stats";
      EXPECT_EQ(running_var.to_vector(), tensor_from(c.at("running_var")).to_vector())
          << "eval changed stats";
    }
    return worst;
  });
}

TEST(GoldenTorch, LossAndLogSoftmax) {
  check_fixture_file("loss.json", [](const json& c) {
    const json& o = c.at("options");
    if (o.at("op") == "log_softmax") {
      const int64_t axis = o.at("axis");
      return check_against_torch(c, {"input"},
                                 [&](const Leaves& l) { return log_softmax(l.at("input"), axis); });
    }
    const std::vector<int64_t> targets = c.at("targets");
    const Reduction reduction = o.at("reduction") == "mean" ? Reduction::Mean : Reduction::Sum;
    return check_against_torch(
        c, {"input"}, [&](const Leaves& l) { return cross_entropy(l.at("input"), targets, reduction); });
  });
}

TEST(GoldenTorch, Relu) {
  check_fixture_file("activation.json", [](const json& c) {
    return check_against_torch(c, {"input"}, [](const Leaves& l) { return relu(l.at("input")); });
  });
}

TEST(GoldenTorch, Relu6) {
  // The fixture has inputs at exactly 0 and 6, where PyTorch's gradient is 0.
  check_fixture_file("relu6.json", [](const json& c) {
    return check_against_torch(c, {"input"}, [](const Leaves& l) { return relu6(l.at("input")); });
  });
}

TEST(GoldenTorch, Cat) {
  check_fixture_file("cat.json", [](const json& c) {
    const int64_t dim = c.at("options").at("dim"), inputs = c.at("options").at("inputs");
    std::vector<std::string> names;
    for (int64_t i = 0; i < inputs; ++i)
      names.push_back("input" + std::to_string(i));
    return check_against_torch(c, names, [&](const Leaves& l) {
      std::vector<Tensor> xs;
      for (const std::string& name : names)
        xs.push_back(l.at(name));
      return cat(xs, dim);
    });
  });
}

TEST(GoldenTorch, GlobalAvgPool2d) {
  check_fixture_file("global_avg_pool2d.json", [](const json& c) {
    return check_against_torch(c, {"input"},
                               [](const Leaves& l) { return global_avg_pool2d(l.at("input")); });
  });
}

TEST(GoldenTorch, AddModule) {
  check_fixture_file("add.json", [](const json& c) {
    return check_against_torch(c, {"input", "other"}, [](const Leaves& l) {
      nn::Add add;
      return add.forward_inputs(std::vector<Tensor>{l.at("input"), l.at("other")});
    });
  });
}

// ---- global average pooling against its reference loop ------------------------------------------------

TEST(GlobalAvgPoolKernel, MatchesTheReferenceLoopAndTheGenericMean) {
  // Small planes, planes of 7x7 (a ResNet's last layer) in numbers that are shared between threads, large
  // planes with a tail after the eight-lane blocks, and a strided (permuted) input.
  Generator gen(11);
  const std::vector<Shape> shapes{{2, 3, 1, 1}, {2, 3, 2, 3}, {64, 512, 7, 7}, {3, 5, 33, 31}};
  for (const Shape& shape : shapes) {
    const Tensor x = Tensor::uniform(shape, -1.0f, 3.0f, gen);
    const std::string name = to_string(shape);
    const Tensor fast = global_avg_pool2d(x);
    const Tensor reference = global_avg_pool2d_reference(x);
    EXPECT_EQ(fast.shape(), (Shape{shape[0], shape[1], 1, 1}));
    expect_close(fast, reference, name + " against the reference", {1e-6, 1e-5});
    expect_close(fast, mean(x, {2, 3}, true), name + " against mean over (2, 3)", {1e-6, 1e-5});
  }
  const Tensor permuted =
      permute(Tensor::uniform({4, 6, 5, 3}, -1.0f, 1.0f, gen), {0, 3, 1, 2});  // [4,3,6,5]
  ASSERT_FALSE(permuted.is_contiguous());
  expect_close(global_avg_pool2d(permuted), global_avg_pool2d_reference(permuted), "strided input",
               {1e-6, 1e-5});
}

TEST(GlobalAvgPoolKernel, BackwardSpreadsTheGradientEvenly) {
  Tensor x = Tensor::zeros({2, 3, 4, 5}).set_requires_grad(true);
  Generator gen(12);
  const Tensor dy = Tensor::uniform({2, 3, 1, 1}, -1.0f, 1.0f, gen);
  global_avg_pool2d(x).backward(dy);
  const std::vector<float> dx = x.grad().to_vector(), g = dy.to_vector();
  for (size_t i = 0; i < dx.size(); ++i)
    EXPECT_EQ(dx[i], g[i / 20] / 20.0f) << i;
}

// ---- the fast convolution against its naive twin ------------------------------------------------

struct ConvShape {
  std::string name;
  Shape input, weight;
  Conv2dOptions options;
  bool with_bias = true;
};

void PrintTo(const ConvShape& c, std::ostream* os) {
  *os << c.name;
}

class ConvAgainstReference : public ::testing::TestWithParam<ConvShape> {};

// The reference accumulates in double; the fast path sums long float dot products (the weight gradient
// sums over N*H_out*W_out terms), so the tolerance scales with the magnitude of the tensor compared.
Tolerance scaled_tolerance(const Tensor& expected) {
  const std::vector<float> v = expected.to_vector();
  double scale = 1.0;
  for (float x : v)
    scale = std::max(scale, static_cast<double>(std::abs(x)));
  return {1e-5 * scale, 1e-5};
}

TEST_P(ConvAgainstReference, ForwardAndBackwardMatchTheNaiveLoops) {
  const ConvShape& c = GetParam();
  Generator gen(7);
  const Tensor x = Tensor::uniform(c.input, -1.0f, 1.0f, gen);
  const Tensor w = Tensor::uniform(c.weight, -1.0f, 1.0f, gen);
  const Tensor b = c.with_bias ? Tensor::uniform({c.weight[0]}, -1.0f, 1.0f, gen) : Tensor();
  const Conv2dOptions& o = c.options;
  const kernel::Conv2dGeometry g =
      kernel::conv2d_geometry(x.shape(), w.shape(), o.stride, o.padding, o.dilation, o.groups);

  const Tensor fast = kernel::conv2d_forward(x, w, b, g);
  const Tensor reference = kernel::conv2d_reference(x, w, b, g);
  expect_close(fast, reference, c.name + " output", scaled_tolerance(reference));

  const Tensor grad_output = Tensor::uniform(reference.shape(), -1.0f, 1.0f, gen);
  const kernel::Conv2dGrads fast_grads = kernel::conv2d_backward(grad_output, x, w, g, {});
  const kernel::Conv2dGrads ref_grads = kernel::conv2d_backward_reference(grad_output, x, w, g);
  expect_close(fast_grads.input, ref_grads.input, c.name + " grad_input", scaled_tolerance(ref_grads.input));
  expect_close(fast_grads.weight, ref_grads.weight, c.name + " grad_weight",
               scaled_tolerance(ref_grads.weight));
  expect_close(fast_grads.bias, ref_grads.bias, c.name + " grad_bias", scaled_tolerance(ref_grads.bias));
}

TEST(ConvKernel, SkipsGradientsNobodyAskedFor) {
  Generator gen(8);
  const Tensor x = Tensor::uniform({2, 2, 5, 5}, -1.0f, 1.0f, gen),
               w = Tensor::uniform({3, 2, 3, 3}, -1.0f, 1.0f, gen);
  const kernel::Conv2dGeometry g = kernel::conv2d_geometry(x.shape(), w.shape(), 1, 0, 1, 1);
  const Tensor gy = Tensor::ones({2, 3, 3, 3});
  const kernel::Conv2dGrads only_weight = kernel::conv2d_backward(gy, x, w, g, {false, true, false});
  EXPECT_FALSE(only_weight.input.defined());
  EXPECT_TRUE(only_weight.weight.defined());
  EXPECT_FALSE(only_weight.bias.defined());
}

TEST(ConvKernel, TutorialGroupedShapeSpansSeveralChunks) {
  // The reference comparison of tutorial_conv2_groups20 (batch 8) is meant to cover a batch split into
  // chunks, the last one partial, and the weight gradient accumulated over them.
  const kernel::Conv2dGeometry g = kernel::conv2d_geometry({8, 40, 13, 13}, {40, 2, 3, 3}, 1, 0, 1, 20);
  const int64_t chunk = kernel::conv2d_chunk_samples(g);
  EXPECT_LT(chunk, g.batch);
  EXPECT_NE(g.batch % chunk, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, ConvAgainstReference,
    ::testing::Values(ConvShape{"plain", {2, 3, 7, 6}, {4, 3, 3, 3}, {1, 0, 1, 1}},
                      ConvShape{"single_sample", {1, 3, 5, 5}, {2, 3, 2, 2}, {1, 0, 1, 1}},
                      ConvShape{"stride2_padding1", {2, 3, 9, 8}, {5, 3, 3, 3}, {2, 1, 1, 1}},
                      ConvShape{"stride3_padding2_dilation2", {2, 2, 11, 10}, {3, 2, 3, 2}, {3, 2, 2, 1}},
                      ConvShape{"stride_beyond_kernel", {2, 2, 9, 9}, {3, 2, 2, 2}, {4, 0, 1, 1}},
                      ConvShape{"padding_beyond_kernel", {2, 1, 3, 3}, {2, 1, 2, 2}, {1, 2, 1, 1}},
                      ConvShape{"pointwise", {2, 8, 4, 4}, {4, 8, 1, 1}, {1, 0, 1, 1}},
                      ConvShape{"groups2_no_bias", {3, 4, 6, 6}, {6, 2, 3, 3}, {1, 0, 1, 2}, false},
                      ConvShape{"depthwise_padding", {2, 5, 6, 7}, {5, 1, 3, 3}, {1, 1, 1, 5}},
                      ConvShape{"all_options", {2, 6, 12, 11}, {9, 2, 3, 3}, {2, 2, 2, 3}},
                      // The reference model (Jermmy/pytorch-quantization-demo): conv 1->40 k3 on 28x28, then
                      // conv 40->40 k3 groups=20 on the pooled 13x13 maps.
                      ConvShape{"tutorial_conv1", {8, 1, 28, 28}, {40, 1, 3, 3}, {1, 0, 1, 1}},
                      ConvShape{"tutorial_conv2_groups20", {8, 40, 13, 13}, {40, 2, 3, 3}, {1, 0, 1, 20}}),
    [](const ::testing::TestParamInfo<ConvShape>& info) { return info.param.name; });

}  // namespace
}  // namespace qg::nn::functional
