// One table of the generic tensor ops: each row is checked against central finite differences.
// (Neural-network ops have their own table in tests/nn/.)
#include <gtest/gtest.h>

#include <functional>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace qg {
namespace {

struct OpCase {
  std::string name;
  std::vector<Shape> input_shapes;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  float low = -2.0f, high = 2.0f;  // input range (kept away from kinks/poles where needed)
};

void PrintTo(const OpCase& c, std::ostream* os) {
  *os << c.name;
}

class OpGradcheck : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpGradcheck, AnalyticMatchesNumeric) {
  const OpCase& c = GetParam();
  Generator gen(99);
  std::vector<Tensor> inputs;
  for (const Shape& s : c.input_shapes)
    inputs.push_back(Tensor::uniform(s, c.low, c.high, gen).set_requires_grad(true));
  const GradcheckResult r = gradcheck(c.fn, inputs);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.message;
}

using V = std::vector<Tensor>;

// cat of all the row's inputs along one axis.
Tensor cat_dim1(const V& v) {
  return cat(v, 1);
}
Tensor cat_dim0(const V& v) {
  return cat(v, 0);
}
Tensor cat_last(const V& v) {
  return cat(v, -1);
}

INSTANTIATE_TEST_SUITE_P(
    Ops, OpGradcheck,
    ::testing::Values(OpCase{"add_broadcast", {{3, 4}, {4}}, [](const V& v) { return v[0] + v[1]; }},
                      OpCase{"sub_broadcast", {{3, 1}, {1, 4}}, [](const V& v) { return v[0] - v[1]; }},
                      OpCase{"mul_broadcast", {{2, 3, 4}, {3, 1}}, [](const V& v) { return v[0] * v[1]; }},
                      OpCase{"div", {{3, 4}, {3, 4}}, [](const V& v) { return v[0] / v[1]; }, 0.5f, 2.0f},
                      OpCase{
                          "neg_scalar_ops", {{5}}, [](const V& v) { return -(v[0] * 3.0f + 1.0f) / 2.0f; }},
                      OpCase{"exp", {{6}}, [](const V& v) { return exp(v[0]); }},
                      OpCase{"log", {{6}}, [](const V& v) { return log(v[0]); }, 0.5f, 3.0f},
                      OpCase{"sqrt", {{6}}, [](const V& v) { return sqrt(v[0]); }, 0.5f, 3.0f},
                      OpCase{"pow", {{6}}, [](const V& v) { return pow(v[0], 3.0f); }},
                      OpCase{"sum_axes",
                             {{2, 3, 4}},
                             [](const V& v) {
                               return sum(v[0], {0, 2});
                             }},
                      OpCase{"sum_all", {{2, 3}}, [](const V& v) { return sum(v[0]); }},
                      OpCase{"mean_keepdim", {{2, 3, 4}}, [](const V& v) { return mean(v[0], {1}, true); }},
                      OpCase{"max_axis", {{3, 5}}, [](const V& v) { return max(v[0], 1); }},
                      OpCase{"reshape",
                             {{2, 6}},
                             [](const V& v) {
                               return reshape(v[0], {3, 4}) * Tensor::arange(0, 4);
                             }},
                      OpCase{"permute",
                             {{2, 3, 4}},
                             [](const V& v) {
                               return contiguous(permute(v[0], {2, 0, 1}));
                             }},
                      OpCase{"transpose_matmul",
                             {{3, 4}, {3, 5}},
                             [](const V& v) { return matmul(transpose(v[0], 0, 1), v[1]); }},
                      OpCase{"matmul", {{3, 4}, {4, 2}}, [](const V& v) { return matmul(v[0], v[1]); }},
                      OpCase{"narrow", {{5, 3}}, [](const V& v) { return narrow(v[0], 0, 1, 3); }},
                      OpCase{"flatten", {{2, 3, 2, 2}}, [](const V& v) { return flatten(v[0]); }},
                      OpCase{"cat_two_4d_dim1", {{2, 3, 2, 3}, {2, 2, 2, 3}}, cat_dim1},
                      OpCase{"cat_three_4d_dim1", {{2, 1, 3, 2}, {2, 4, 3, 2}, {2, 2, 3, 2}}, cat_dim1},
                      OpCase{"cat_two_2d_dim1", {{3, 4}, {3, 2}}, cat_dim1},
                      OpCase{"cat_three_2d_dim1", {{4, 2}, {4, 1}, {4, 3}}, cat_dim1},
                      OpCase{"cat_4d_dim0", {{1, 2, 2, 2}, {3, 2, 2, 2}}, cat_dim0},
                      OpCase{"cat_3d_last_axis", {{2, 3, 2}, {2, 3, 4}}, cat_last}),
    [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

TEST(Gradcheck, CatchesAWrongGradient) {
  // A deliberately wrong op: forward x*x, but we check it against a function whose backward is for 3x.
  // Feeding gradcheck an f whose analytic gradient disagrees must fail, or the harness proves nothing.
  Tensor x = Tensor::from_vector({0.5f, 1.0f}, {2}).set_requires_grad(true);
  const auto wrong = [](const V& v) {
    Tensor detached_square = v[0].detach() * v[0].detach();  // value x^2 with no gradient...
    return detached_square + v[0] * 0.0f;                    // ...and an analytic gradient of 0
  };
  EXPECT_FALSE(gradcheck(wrong, {x}).ok);
}

}  // namespace
}  // namespace qg
