// The layers added for residual and branching models (issue 12): Add and Concat, which run on several inputs
// through Module::forward_inputs, and GlobalAvgPool2d and ReLU6, which take the default single input. Their
// arity and shape errors are checked word for word; their values and gradients are checked against PyTorch
// in functional_golden_test.cpp and by finite differences in functional_gradcheck_test.cpp.
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/layers.h"

namespace qg::nn {
namespace {

using V = std::vector<Tensor>;

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument thrown)";
}

Tensor zeros(const Shape& s) {
  return Tensor::zeros(s);
}

TEST(AddLayer, SumsTwoInputsAndPassesTheGradientToBoth) {
  Add add;
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2}).set_requires_grad(true);
  Tensor b = Tensor::from_vector({10, 20, 30, 40}, {2, 2}).set_requires_grad(true);
  const Tensor y = add.forward_inputs(V{a, b});
  EXPECT_EQ(y.to_vector(), (std::vector<float>{11, 22, 33, 44}));
  const Tensor dy = Tensor::from_vector({1, -2, 3, -4}, {2, 2});
  y.backward(dy);
  EXPECT_EQ(a.grad().to_vector(), dy.to_vector());
  EXPECT_EQ(b.grad().to_vector(), dy.to_vector());
}

TEST(AddLayer, RefusesAnotherNumberOfInputs) {
  Add add;
  EXPECT_EQ(error_of([&] { add.forward_inputs(V{zeros({2})}); }), "Add() takes two inputs, not 1");
  EXPECT_EQ(error_of([&] {
              add.forward_inputs(V{zeros({2}), zeros({2}), zeros({2})});
            }),
            "Add() takes two inputs, not 3");
  EXPECT_EQ(error_of([&] { add.forward_inputs(V{}); }), "Add() takes two inputs, not 0");
  EXPECT_EQ(error_of([&] { add.forward(zeros({2})); }),
            "Add() takes two inputs, not one: call forward_inputs({a, b})");
  EXPECT_EQ(error_of([&] { add(zeros({2})); }),
            "Add() takes two inputs, not one: call forward_inputs({a, b})");
}

TEST(AddLayer, RefusesDifferentShapesNamingBoth) {
  Add add;
  // Shapes that would broadcast in torch.add are refused too: a residual add has one shape.
  EXPECT_EQ(error_of([&] {
              add.forward_inputs(V{zeros({2, 3, 4, 4}), zeros({2, 3, 4, 5})});
            }),
            "Add(): inputs must have the same shape (no broadcasting), got [2,3,4,4] and [2,3,4,5]");
  EXPECT_EQ(error_of([&] {
              add.forward_inputs(V{zeros({2, 3}), zeros({3})});
            }),
            "Add(): inputs must have the same shape (no broadcasting), got [2,3] and [3]");
}

TEST(ConcatLayer, JoinsChannelsInOrder) {
  Concat concat;
  const Tensor a = Tensor::full({2, 1, 2, 2}, 1.0f), b = Tensor::full({2, 2, 2, 2}, 2.0f);
  const Tensor c = Tensor::full({2, 1, 2, 2}, 3.0f);
  const Tensor y = concat.forward_inputs(V{a, b, c});
  ASSERT_EQ(y.shape(), (Shape{2, 4, 2, 2}));
  for (int64_t n = 0; n < 2; ++n) {
    EXPECT_EQ(y.at({n, 0, 1, 1}), 1.0f);
    EXPECT_EQ(y.at({n, 1, 0, 1}), 2.0f);
    EXPECT_EQ(y.at({n, 2, 1, 0}), 2.0f);
    EXPECT_EQ(y.at({n, 3, 0, 0}), 3.0f);
  }
  const Tensor features = concat.forward_inputs(V{zeros({5, 3}), Tensor::ones({5, 7})});
  EXPECT_EQ(features.shape(), (Shape{5, 10}));
  EXPECT_EQ(features.at({4, 2}), 0.0f);
  EXPECT_EQ(features.at({4, 3}), 1.0f);
}

TEST(ConcatLayer, RefusesFewerThanTwoInputs) {
  Concat concat;
  EXPECT_EQ(error_of([&] {
              concat.forward_inputs(V{zeros({2, 3, 4, 4})});
            }),
            "Concat(dim=1) takes two or more inputs, not 1");
  EXPECT_EQ(error_of([&] { concat.forward_inputs(V{}); }), "Concat(dim=1) takes two or more inputs, not 0");
  EXPECT_EQ(error_of([&] {
              concat.forward(zeros({2, 3, 4, 4}));
            }),
            "Concat(dim=1) takes two or more inputs, not one: call forward_inputs");
}

TEST(ConcatLayer, RefusesMismatchedShapesNamingThem) {
  Concat concat;
  EXPECT_EQ(error_of([&] {
              concat.forward_inputs(V{zeros({2, 3, 4, 4}), zeros({2, 5, 4, 5})});
            }),
            "cat: sizes must match except along dim 1: input 0 is [2,3,4,4], input 1 is [2,5,4,5]");
  EXPECT_EQ(error_of([&] {
              concat.forward_inputs(V{zeros({2, 3}), zeros({2, 3}), zeros({4, 3})});
            }),
            "cat: sizes must match except along dim 1: input 0 is [2,3], input 2 is [4,3]");
  EXPECT_EQ(error_of([&] {
              concat.forward_inputs(V{zeros({2, 3, 4, 4}), zeros({2, 3})});
            }),
            "cat: sizes must match except along dim 1: input 0 is [2,3,4,4], input 1 is [2,3]");
  EXPECT_EQ(error_of([&] {
              concat.forward_inputs(V{zeros({2, 3, 4}), zeros({2, 3, 4})});
            }),
            "Concat(dim=1): expected [N,C,H,W] or [N,F] inputs, input 0 is [2,3,4]");
}

TEST(SingleInputLayers, RefuseSeveralInputsThroughForwardInputs) {
  ReLU6 relu6;
  GlobalAvgPool2d pool;
  Dropout dropout(0.5f, uint64_t{1});
  EXPECT_EQ(error_of([&] {
              relu6.forward_inputs(V{zeros({2}), zeros({2})});
            }),
            "ReLU6() takes one input, not 2");
  EXPECT_EQ(error_of([&] { pool.forward_inputs(V{}); }), "GlobalAvgPool2d() takes one input, not 0");
  EXPECT_EQ(error_of([&] {
              dropout.forward_inputs(V{zeros({2}), zeros({2})});
            }),
            "Dropout(p=0.5) takes one input, not 2");
  EXPECT_EQ(relu6.forward_inputs(V{Tensor::from_vector({-1, 3, 7}, {3})}).to_vector(),
            (std::vector<float>{0, 3, 6}));
}

TEST(GlobalAvgPool2dLayer, MeansEachPlane) {
  GlobalAvgPool2d pool;
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 10, 20, 30, 40}, {1, 2, 2, 2});
  const Tensor y = pool(x);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{2.5f, 25.0f}));
  EXPECT_EQ(error_of([&] {
              pool(zeros({2, 3, 4}));
            }),
            "global_avg_pool2d: expected a 4-D input [N,C,H,W] with H, W >= 1, got [2,3,4]");
  EXPECT_EQ(error_of([&] {
              pool(zeros({2, 3, 0, 4}));
            }),
            "global_avg_pool2d: expected a 4-D input [N,C,H,W] with H, W >= 1, got [2,3,0,4]");
}

TEST(NewLayers, NamesAndDescriptionsReadLikePytorch) {
  EXPECT_EQ(Add().type_name(), "Add");
  EXPECT_EQ(Add().describe(), "Add()");
  EXPECT_EQ(Concat().type_name(), "Concat");
  EXPECT_EQ(Concat().describe(), "Concat(dim=1)");
  EXPECT_EQ(GlobalAvgPool2d().type_name(), "GlobalAvgPool2d");
  EXPECT_EQ(GlobalAvgPool2d().describe(), "GlobalAvgPool2d()");
  EXPECT_EQ(ReLU6().type_name(), "ReLU6");
  EXPECT_EQ(ReLU6().describe(), "ReLU6()");
  EXPECT_EQ(Dropout(0.2f).type_name(), "Dropout");
  EXPECT_EQ(Dropout(0.2f).describe(), "Dropout(p=0.2)");
}

TEST(NewLayers, ASequentialRunsThemAndHasNoParameters) {
  // A head as in MobileNetV2 (ReLU6, global pooling, dropout, then the classifier).
  Sequential head;
  head.add(std::make_shared<ReLU6>());
  head.add(std::make_shared<GlobalAvgPool2d>());
  head.add(std::make_shared<Flatten>());
  head.add(std::make_shared<Dropout>(0.2f, uint64_t{3}));
  head.add(std::make_shared<Linear>(8, 10));
  EXPECT_EQ(head.named_parameters().size(), 2u);  // the Linear's only
  EXPECT_TRUE(head.named_buffers().empty());
  Generator gen(4);
  const Tensor y = head(Tensor::uniform({3, 8, 5, 5}, -2.0f, 8.0f, gen));
  EXPECT_EQ(y.shape(), (Shape{3, 10}));
}

}  // namespace
}  // namespace qg::nn
