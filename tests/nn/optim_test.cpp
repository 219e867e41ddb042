#include <gtest/gtest.h>

#include <cmath>

#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"

namespace qg::nn {
namespace {

// One scalar parameter with a constant gradient g: the updates can be written out by hand.
struct Scalar {
  Tensor p = Tensor::from_vector({1.0f}, {1}).set_requires_grad(true);
  void set_grad(float g) { p.set_grad(Tensor::from_vector({g}, {1})); }
  float value() const { return p.item(); }
};

TEST(Sgd, PlainStep) {
  Scalar s;
  Sgd opt({s.p}, {.lr = 0.1});
  s.set_grad(2.0f);
  opt.step();
  EXPECT_FLOAT_EQ(s.value(), 1.0f - 0.1f * 2.0f);
}

TEST(Sgd, MomentumAndWeightDecayFollowPytorch) {
  Scalar s;
  Sgd opt({s.p}, {.lr = 0.1, .momentum = 0.5, .weight_decay = 0.01});
  // step 1: d = 2 + 0.01*1 = 2.01; buf = 2.01; p = 1 - 0.201 = 0.799
  s.set_grad(2.0f);
  opt.step();
  EXPECT_NEAR(s.value(), 0.799f, 1e-6f);
  // step 2: d = 2 + 0.01*0.799 = 2.00799; buf = 0.5*2.01 + 2.00799 = 3.01299; p = 0.799 - 0.301299
  opt.step();
  EXPECT_NEAR(s.value(), 0.799f - 0.301299f, 1e-6f);
}

TEST(Sgd, Nesterov) {
  Scalar s;
  Sgd opt({s.p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  s.set_grad(1.0f);
  opt.step();  // buf = 1; d = 1 + 0.9*1 = 1.9
  EXPECT_NEAR(s.value(), 1.0f - 0.19f, 1e-6f);
  opt.step();  // buf = 0.9 + 1 = 1.9; d = 1 + 0.9*1.9 = 2.71
  EXPECT_NEAR(s.value(), 1.0f - 0.19f - 0.271f, 1e-6f);
  EXPECT_THROW(Sgd({s.p}, {.lr = 0.1, .momentum = 0.0, .nesterov = true}), std::invalid_argument);
}

TEST(Sgd, SkipsParametersWithoutGradient) {
  Scalar s;
  Sgd opt({s.p}, {.lr = 0.1});
  opt.step();
  EXPECT_EQ(s.value(), 1.0f);
}

TEST(Adam, FirstStepsMatchTheFormula) {
  Scalar s;
  Adam opt({s.p}, {.lr = 0.01});
  s.set_grad(0.5f);
  opt.step();  // m_hat = g, v_hat = g^2 -> step = lr * g / (|g| + eps) ~ lr
  EXPECT_NEAR(s.value(), 1.0f - 0.01f, 1e-6f);
  s.set_grad(-1.0f);
  opt.step();
  const double m = 0.9 * 0.05 + 0.1 * -1.0, v = 0.999 * 0.00025 + 0.001 * 1.0;
  const double update = 0.01 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
  EXPECT_NEAR(s.value(), 0.99 - update, 1e-6);
}

TEST(Optimizer, StateIsExposedForCheckpoints) {
  Scalar s;
  Sgd sgd({s.p}, {.lr = 0.1, .momentum = 0.9});
  s.set_grad(1.0f);
  sgd.step();
  const NamedTensors state = sgd.state();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[1].first, "momentum.0");
  EXPECT_EQ(state[1].second.item(), 1.0f);
  Adam adam({s.p}, {});
  adam.step();
  EXPECT_EQ(adam.state()[0].second.item(), 1.0f);  // step count
}

}  // namespace
}  // namespace qg::nn
