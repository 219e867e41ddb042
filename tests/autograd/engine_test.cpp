#include <gtest/gtest.h>

#include "autograd/function.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"

namespace qg {
namespace {

TEST(Engine, ScalarChainRule) {
  // y = (a * b + a)^2 at a=2, b=3: y = 64, dy/da = 2*8*(b+1) = 64, dy/db = 2*8*a = 32.
  Tensor a = Tensor::scalar(2.0f).set_requires_grad(true);
  Tensor b = Tensor::scalar(3.0f).set_requires_grad(true);
  Tensor y = pow(a * b + a, 2.0f);
  EXPECT_FLOAT_EQ(y.item(), 64.0f);
  y.backward();
  EXPECT_FLOAT_EQ(a.grad().item(), 64.0f);
  EXPECT_FLOAT_EQ(b.grad().item(), 32.0f);
}

TEST(Engine, GradientsAccumulateAcrossBackwardCallsUntilZeroed) {
  Tensor a = Tensor::scalar(1.5f).set_requires_grad(true);
  (a * 2.0f).backward();
  (a * 3.0f).backward();
  EXPECT_FLOAT_EQ(a.grad().item(), 5.0f);
  a.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Engine, DiamondGraphSumsBothPaths) {
  // y = x*x + x*x uses x four times through two nodes sharing an input.
  Tensor x = Tensor::from_vector({1, -2}, {2}).set_requires_grad(true);
  Tensor sq = x * x;
  Tensor y = sum(sq + sq);
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{4, -8}));
}

TEST(Engine, ExplicitGradientForNonScalarRoot) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor y = x * 2.0f;
  EXPECT_THROW(y.backward(), std::invalid_argument);
  y.backward(Tensor::from_vector({1, 10, 100}, {3}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 20, 200}));
}

TEST(Engine, NoGradGuardAndDetachStopRecording) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  {
    NoGradGuard guard;
    EXPECT_FALSE((x * 2.0f).requires_grad());
  }
  EXPECT_TRUE((x * 2.0f).requires_grad());
  EXPECT_FALSE(x.detach().requires_grad());
  EXPECT_FALSE((x.detach() * 2.0f).requires_grad());
  EXPECT_TRUE(x.detach().shares_storage_with(x));
}

TEST(Engine, RequiresGradPropagatesOnlyFromMarkedInputs) {
  Tensor x = Tensor::ones({2});
  Tensor w = Tensor::ones({2}).set_requires_grad(true);
  EXPECT_FALSE((x + x).requires_grad());
  Tensor y = x * w;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  sum(y).backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
}

TEST(Engine, BackwardWithoutGraphIsAnError) {
  EXPECT_THROW(Tensor::ones({1}).backward(), std::logic_error);
}

TEST(Engine, GraphIsFreedWithTheLoss) {
  Tensor x = Tensor::ones({4}).set_requires_grad(true);
  std::weak_ptr<Node> node;
  {
    Tensor y = exp(x) * 3.0f;
    node = y.grad_fn();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
}

TEST(Engine, DeepChainDoesNotOverflowTheStack) {
  Tensor x = Tensor::scalar(1.0f).set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 10000; ++i)
    y = y + 0.0f;
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 1.0f);
}

// ---- the user-facing Function API ---------------------------------------------------------------

// A user-defined op, written exactly as docs/03-autograd.md shows: y = x^3, dy/dx = 3x^2.
struct CubeFn {
  static constexpr const char* name = "cube";
  Tensor x;
  Tensor forward(const Tensor& input) {
    x = input;
    return kernel::mul(kernel::mul(x, x), x);
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    return {kernel::mul(grad, kernel::mul_scalar(kernel::mul(x, x), 3.0f))};
  }
};

// A Function with a non-tensor argument and a second tensor input that gets no gradient.
struct ScaleByFirstFn {
  static constexpr const char* name = "scale_by_first";
  float factor = 0;
  Tensor forward(const Tensor& input, const Tensor& factors, int which) {
    factor = factors.to_vector()[which];
    return kernel::mul_scalar(input, factor);
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {kernel::mul_scalar(grad, factor), Tensor()}; }
};

// A deliberately wrong Function: its backward returns a gradient of the wrong shape.
struct BrokenFn {
  static constexpr const char* name = "broken";
  Tensor forward(const Tensor& input) { return input.clone(); }
  std::vector<Tensor> backward(const Tensor&) { return {Tensor::zeros({99})}; }
};

TEST(FunctionApi, UserDefinedOpGetsGradients) {
  Tensor x = Tensor::from_vector({1, -2, 0.5f}, {3}).set_requires_grad(true);
  Tensor y = apply<CubeFn>(x);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1, -8, 0.125f}));
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{3, 12, 0.75f}));
  EXPECT_STREQ(y.grad_fn()->name(), "cube");
}

TEST(FunctionApi, NonTensorArgumentsAndUndefinedGradients) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  Tensor f = Tensor::from_vector({5, 7}, {2}).set_requires_grad(true);
  sum(apply<ScaleByFirstFn>(x, f, 1)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{7, 7}));
  EXPECT_FALSE(f.grad().defined());
}

TEST(FunctionApi, WrongGradientShapeIsReportedWithTheOpName) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  try {
    sum(apply<BrokenFn>(x)).backward();
    FAIL() << "expected a throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.backward"), std::string::npos) << e.what();
  }
}

TEST(FunctionApi, NothingIsRecordedWhenNoInputRequiresGrad) {
  const Tensor y = apply<CubeFn>(Tensor::ones({2}));
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

}  // namespace
}  // namespace qg
