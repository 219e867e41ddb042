// One table of the neural-network ops (nn/functional.h): every row's analytic gradients, for every
// input that requires grad, are checked against central finite differences of the output projected on
// a random vector (autograd/gradcheck.h). Forward values are checked against PyTorch and against the
// naive reference kernels in functional_golden_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "autograd/gradcheck.h"
#include "nn/functional.h"
#include "nn/layers.h"

namespace qg::nn::functional {
namespace {

using V = std::vector<Tensor>;

// How a row's inputs are filled. Kinks must stay further than gradcheck's eps (1e-3) from every input.
enum class Fill {
  Uniform,       // uniform in [-2, 2]
  Distinct,      // a random permutation of evenly spaced values in [-2, 2]: no two are within 1e-3,
                 // so a max never switches between tied elements under a finite difference
  AwayFromZero,  // |x| in [0.1, 2] with a random sign: relu's kink at 0 is never crossed
  AroundRelu6,   // in [-2, 8] and at least 0.1 from 0 and from 6: both of relu6's kinks have inputs on
                 // either side, and none is crossed
};

struct NnCase {
  std::string name;
  std::vector<Shape> input_shapes;
  std::function<Tensor(const V&)> fn;
  Fill fill = Fill::Uniform;
};

void PrintTo(const NnCase& c, std::ostream* os) {
  *os << c.name;
}

Tensor make_input(const Shape& shape, Fill fill, Generator& gen) {
  Tensor t = Tensor::uniform(shape, -2.0f, 2.0f, gen);
  float* p = t.data();
  const int64_t n = t.numel();
  if (fill == Fill::Distinct) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), gen.engine());
    for (int64_t i = 0; i < n; ++i)
      p[i] = -2.0f + 4.0f * static_cast<float>(order[i]) / static_cast<float>(n);
  } else if (fill == Fill::AwayFromZero) {
    for (int64_t i = 0; i < n; ++i)
      p[i] = (p[i] < 0 ? -0.1f : 0.1f) + p[i] * 0.95f;
  } else if (fill == Fill::AroundRelu6) {
    // [-2, 2] -> [-2, 8] in three bands: [-2, -0.1], [0.1, 5.9] and [6.1, 8].
    for (int64_t i = 0; i < n; ++i) {
      const float u = (p[i] + 2.0f) / 4.0f;  // [0, 1]
      p[i] = u < 0.2f   ? -2.0f + u / 0.2f * 1.9f
             : u < 0.8f ? 0.1f + (u - 0.2f) / 0.6f * 5.8f
                        : 6.1f + (u - 0.8f) / 0.2f * 1.9f;
    }
  }
  return t;
}

class NnGradcheck : public ::testing::TestWithParam<NnCase> {};

TEST_P(NnGradcheck, AnalyticMatchesNumeric) {
  const NnCase& c = GetParam();
  Generator gen(2024);
  std::vector<Tensor> inputs;
  for (const Shape& s : c.input_shapes)
    inputs.push_back(make_input(s, c.fill, gen).set_requires_grad(true));
  const GradcheckResult r = gradcheck(c.fn, inputs);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.message;
  // Every input must actually have received a gradient from backward (an undefined one counts as zero
  // and would pass only if the true gradient were zero too).
  for (const Tensor& x : inputs)
    EXPECT_TRUE(x.grad().defined()) << c.name;
}

Conv2dOptions conv(int64_t stride, int64_t padding, int64_t dilation, int64_t groups) {
  return {stride, padding, dilation, groups};
}

Pool2dOptions pool(int64_t kernel, int64_t stride, int64_t padding) {
  return {kernel, stride, padding};
}

// Running statistics for the batch-norm rows (all have 3 channels): the training rows update them on
// every forward call of the finite-difference loop, which must not matter since training outputs ignore them.
Tensor running_mean_3() {
  return Tensor::from_vector({0.3f, -0.2f, 0.1f}, {3});
}
Tensor running_var_3() {
  return Tensor::from_vector({0.5f, 1.5f, 2.0f}, {3});
}

Tensor batch_norm_train(const V& v) {
  static Tensor running_mean = running_mean_3(), running_var = running_var_3();
  return batch_norm(v[0], running_mean, running_var, v[1], v[2], {true, 0.1f, 1e-5f});
}

// max_pool2d(batch_norm(...)) as one op, in training (gradients through the batch statistics) and eval.
Tensor batch_norm_max_pool2d_train(const V& v) {
  static Tensor running_mean = running_mean_3(), running_var = running_var_3();
  return batch_norm_max_pool2d(v[0], running_mean, running_var, v[1], v[2], {true, 0.1f, 1e-5f},
                               pool(3, 2, 1));
}

Tensor batch_norm_max_pool2d_eval(const V& v) {
  static const Tensor running_mean = running_mean_3(), running_var = running_var_3();
  return batch_norm_max_pool2d(v[0], running_mean, running_var, v[1], v[2], {false, 0.1f, 1e-5f},
                               pool(2, 0, 0));
}

Tensor batch_norm_eval(const V& v) {
  static const Tensor running_mean = running_mean_3(), running_var = running_var_3();
  return batch_norm(v[0], running_mean, running_var, v[1], v[2], {false, 0.1f, 1e-5f});
}

const std::vector<int64_t> kTargets{2, 0, 4, 4};

// Dropout with a fixed mask: a fresh generator of one seed on every call, so the finite differences see
// the very mask the analytic gradient was taken with.
Tensor dropout_fixed_mask(const V& v) {
  Generator gen(77);
  return dropout(v[0], 0.4f, true, gen);
}

// The multi-input layers through Module::forward_inputs, as a graph runs them.
Tensor add_module(const V& v) {
  nn::Add add;
  return add.forward_inputs(v);
}
Tensor concat_module(const V& v) {
  nn::Concat concat;
  return concat.forward_inputs(v);
}

INSTANTIATE_TEST_SUITE_P(
    Functional, NnGradcheck,
    ::testing::Values(
        NnCase{"conv2d_plain",
               {{2, 2, 5, 5}, {3, 2, 3, 3}, {3}},
               [](const V& v) { return conv2d(v[0], v[1], v[2]); }},
        NnCase{"conv2d_stride2",
               {{2, 2, 6, 7}, {3, 2, 3, 3}, {3}},
               [](const V& v) { return conv2d(v[0], v[1], v[2], conv(2, 0, 1, 1)); }},
        NnCase{"conv2d_padding1",
               {{2, 2, 5, 5}, {3, 2, 3, 3}, {3}},
               [](const V& v) { return conv2d(v[0], v[1], v[2], conv(1, 1, 1, 1)); }},
        NnCase{"conv2d_dilation2",
               {{1, 2, 7, 6}, {2, 2, 3, 2}, {2}},
               [](const V& v) { return conv2d(v[0], v[1], v[2], conv(1, 0, 2, 1)); }},
        NnCase{"conv2d_groups2",
               {{2, 4, 5, 5}, {6, 2, 3, 3}, {6}},
               [](const V& v) { return conv2d(v[0], v[1], v[2], conv(1, 0, 1, 2)); }},
        NnCase{"conv2d_depthwise",
               {{2, 3, 5, 5}, {3, 1, 3, 3}, {3}},
               [](const V& v) { return conv2d(v[0], v[1], v[2], conv(1, 1, 1, 3)); }},
        NnCase{"conv2d_all_options",
               {{2, 4, 8, 7}, {4, 2, 3, 3}, {4}},
               [](const V& v) { return conv2d(v[0], v[1], v[2], conv(2, 2, 2, 2)); }},
        NnCase{"conv2d_no_bias",
               {{2, 2, 5, 5}, {3, 2, 3, 3}},
               [](const V& v) { return conv2d(v[0], v[1], Tensor(), conv(1, 1, 1, 1)); }},
        NnCase{
            "conv2d_max_pool2d",
            {{2, 2, 6, 7}, {3, 2, 3, 3}, {3}},
            [](const V& v) { return conv2d_max_pool2d(v[0], v[1], v[2], conv(1, 0, 1, 1), pool(2, 0, 0)); }},
        NnCase{
            "conv2d_max_pool2d_overlap_padding_groups",
            {{2, 4, 7, 7}, {4, 2, 3, 3}, {4}},
            [](const V& v) { return conv2d_max_pool2d(v[0], v[1], v[2], conv(1, 1, 1, 2), pool(3, 2, 1)); }},
        NnCase{"conv2d_max_pool2d_stride2_no_bias",
               {{2, 2, 9, 9}, {3, 2, 3, 3}},
               [](const V& v) {
                 return conv2d_max_pool2d(v[0], v[1], Tensor(), conv(2, 1, 1, 1), pool(2, 0, 0));
               }},
        NnCase{"linear", {{4, 5}, {3, 5}, {3}}, [](const V& v) { return linear(v[0], v[1], v[2]); }},
        NnCase{"linear_no_bias", {{4, 5}, {3, 5}}, [](const V& v) { return linear(v[0], v[1], Tensor()); }},
        NnCase{"max_pool2d",
               {{2, 2, 4, 6}},
               [](const V& v) { return max_pool2d(v[0], pool(2, 0, 0)); },
               Fill::Distinct},
        NnCase{"max_pool2d_overlap_padding",
               {{2, 2, 5, 5}},
               [](const V& v) { return max_pool2d(v[0], pool(3, 2, 1)); },
               Fill::Distinct},
        NnCase{"avg_pool2d", {{2, 2, 4, 6}}, [](const V& v) { return avg_pool2d(v[0], pool(2, 0, 0)); }},
        NnCase{
            "avg_pool2d_padding", {{2, 2, 5, 5}}, [](const V& v) { return avg_pool2d(v[0], pool(3, 2, 1)); }},
        NnCase{"relu", {{3, 7}}, [](const V& v) { return relu(v[0]); }, Fill::AwayFromZero},
        NnCase{"relu6", {{4, 9}}, [](const V& v) { return relu6(v[0]); }, Fill::AroundRelu6},
        NnCase{"sigmoid", {{3, 5}}, [](const V& v) { return sigmoid(v[0]); }},
        NnCase{"global_avg_pool2d", {{2, 3, 1, 3}}, [](const V& v) { return global_avg_pool2d(v[0]); }},
        NnCase{"global_avg_pool2d_1x1", {{3, 2, 1, 1}}, [](const V& v) { return global_avg_pool2d(v[0]); }},
        NnCase{"dropout_train_fixed_mask", {{3, 4, 5}}, dropout_fixed_mask},
        NnCase{"add_module_4d", {{2, 3, 2, 2}, {2, 3, 2, 2}}, add_module},
        NnCase{"concat_module_4d", {{2, 1, 2, 3}, {2, 3, 2, 3}, {2, 2, 2, 3}}, concat_module},
        NnCase{"concat_module_2d", {{3, 4}, {3, 2}}, concat_module},
        NnCase{"batch_norm_train_4d", {{2, 3, 2, 3}, {3}, {3}}, batch_norm_train},
        NnCase{"batch_norm_train_2d", {{5, 3}, {3}, {3}}, batch_norm_train},
        NnCase{"batch_norm_eval", {{2, 3, 2, 2}, {3}, {3}}, batch_norm_eval},
        NnCase{"batch_norm_max_pool2d_train", {{2, 3, 5, 4}, {3}, {3}}, batch_norm_max_pool2d_train},
        NnCase{"batch_norm_max_pool2d_eval", {{2, 3, 4, 5}, {3}, {3}}, batch_norm_max_pool2d_eval},
        NnCase{"log_softmax", {{3, 5}}, [](const V& v) { return log_softmax(v[0], 1); }},
        NnCase{"log_softmax_middle_axis", {{2, 4, 3}}, [](const V& v) { return log_softmax(v[0], 1); }},
        NnCase{"cross_entropy_mean",
               {{4, 5}},
               [](const V& v) { return cross_entropy(v[0], kTargets, Reduction::Mean); }},
        NnCase{"cross_entropy_sum",
               {{4, 5}},
               [](const V& v) { return cross_entropy(v[0], kTargets, Reduction::Sum); }}),
    [](const ::testing::TestParamInfo<NnCase>& info) { return info.param.name; });

TEST(DropoutGradcheck, TheFixedMaskDropsSomeElementsAndKeepsOthers) {
  // The dropout row proves something only if its mask has both zeros and kept (scaled) elements.
  Generator gen(2024);
  const Tensor x = make_input({3, 4, 5}, Fill::AwayFromZero, gen);
  const std::vector<float> y = dropout_fixed_mask({x}).to_vector(), in = x.to_vector();
  int64_t dropped = 0, kept = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.0f) {
      ++dropped;
    } else {
      ++kept;
      EXPECT_FLOAT_EQ(y[i], in[i] / 0.6f) << i;
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_GT(kept, 0);
}

TEST(BatchNormGradcheck, TrainingUpdatesRunningStatsDuringTheCheck) {
  // The training rows above rely on running statistics changing without affecting the output; make sure
  // they really do change (otherwise the row would not exercise that situation).
  Tensor running_mean = Tensor::zeros({3}), running_var = Tensor::ones({3});
  Generator gen(5);
  const Tensor x = Tensor::uniform({4, 3}, -1.0f, 3.0f, gen).set_requires_grad(true);
  const auto f = [&](const V& v) {
    return batch_norm(v[0], running_mean, running_var, Tensor(), Tensor(), {});
  };
  const GradcheckResult r = gradcheck(f, {x});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_NE(running_mean.to_vector(), std::vector<float>(3, 0.0f));
  EXPECT_NE(running_var.to_vector(), std::vector<float>(3, 1.0f));
}

}  // namespace
}  // namespace qg::nn::functional
