// nn::Graph: layers that read any earlier layer, run in order, with gradients through every branch.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "nn/layers.h"

namespace qg::nn {
namespace {

/// A two-input layer for these tests (nn::Add is the library's): a + 2 b, so that the order of the inputs
/// shows in the result.
class WeightedSum : public Module {
 public:
  Tensor forward(const Tensor&) override { throw std::invalid_argument("WeightedSum takes two inputs"); }
  Tensor forward_inputs(std::span<const Tensor> inputs) override {
    if (inputs.size() != 2) throw std::invalid_argument("WeightedSum takes two inputs");
    return add(inputs[0], mul_scalar(inputs[1], 2.0f));
  }
  std::string type_name() const override { return "WeightedSum"; }
};

TEST(Graph, AChainHasTheNamesAndResultsOfTheSequential) {
  Generator g1(7), g2(7);
  Sequential seq;
  seq.add(std::make_shared<Linear>(4, 3, true, g1));
  seq.add(std::make_shared<ReLU>());
  seq.add(std::make_shared<Linear>(3, 2, true, g1));
  Graph graph;
  graph.add(std::make_shared<Linear>(4, 3, true, g2));
  graph.add(std::make_shared<ReLU>());
  graph.add(std::make_shared<Linear>(3, 2, true, g2));
  EXPECT_TRUE(graph.is_chain());
  EXPECT_TRUE(seq.is_chain());
  ASSERT_EQ(graph.state().size(), seq.state().size());
  for (size_t i = 0; i < graph.state().size(); ++i)
    EXPECT_EQ(graph.state()[i].first, seq.state()[i].first);
  Generator gx(3);
  const Tensor x = Tensor::randn({5, 4}, gx);
  EXPECT_EQ(graph.forward(x).to_vector(), seq.forward(x).to_vector());
}

TEST(Graph, AResidualBranchAddsTheSkippedInputInOrder) {
  Generator gen(11);
  Graph graph;
  auto linear = graph.add(std::make_shared<Linear>(3, 3, true, gen));   // 0: reads the input
  graph.add(std::make_shared<ReLU>());                                  // 1: reads 0
  graph.add(std::make_shared<WeightedSum>(), {1, Graph::kGraphInput});  // 2: relu(linear(x)) + 2 x
  EXPECT_FALSE(graph.is_chain());
  EXPECT_EQ(graph.inputs(2), (std::vector<int64_t>{1, Graph::kGraphInput}));
  const Tensor x = Tensor::from_vector({1, -2, 3, 0.5f, 0.25f, -1}, {2, 3});
  const std::vector<float> got = graph.forward(x).to_vector();
  const std::vector<float> branch = functional::relu(linear->forward(x)).to_vector();
  const std::vector<float> xs = x.to_vector();
  ASSERT_EQ(got.size(), xs.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_FLOAT_EQ(got[i], branch[i] + 2 * xs[i]) << i;
}

TEST(Graph, GradientsFlowThroughEveryBranch) {
  Generator gen(5);
  Graph graph;
  graph.add(std::make_shared<Linear>(3, 4, true, gen));                        // 0
  graph.add(std::make_shared<Linear>(3, 4, true, gen), {Graph::kGraphInput});  // 1: a second branch
  graph.add(std::make_shared<WeightedSum>(), {0, 1});                          // 2
  graph.add(std::make_shared<Linear>(4, 2, true, gen));                        // 3
  Generator gx(9);
  Tensor x = Tensor::randn({3, 3}, gx);
  x.set_requires_grad(true);
  const GradcheckResult result =
      gradcheck([&](const std::vector<Tensor>& in) { return sum(graph.forward(in[0])); }, {x});
  EXPECT_TRUE(result.ok) << result.message;
  // Every parameter of both branches receives a gradient.
  graph.zero_grad();
  sum(graph.forward(x)).backward();
  for (const auto& [name, p] : graph.named_parameters())
    EXPECT_TRUE(p.grad().defined()) << name;
}

/// nn::ReLU that records the shapes it is called on, to see where the graph runs it.
class RecordingReLU : public ReLU {
 public:
  Tensor forward(const Tensor& input) override {
    shapes.push_back(input.shape());
    return ReLU::forward(input);
  }
  std::vector<Shape> shapes;
};

/// The bits of a tensor's values (NaN == NaN when its bits are equal).
std::vector<uint32_t> bits_of(const Tensor& t) {
  std::vector<uint32_t> out;
  for (const float v : t.to_vector())
    out.push_back(std::bit_cast<uint32_t>(v));
  return out;
}

// A ReLU read only by a max pool runs after it (graph.cpp: pool_before_relu), with the values and the
// gradients of ReLU first, bit for bit: windows all negative, with ties at 0 and at their maximum, with
// -0.0 and NaN, overlapping and padded windows.
TEST(Graph, AReluBeforeAMaxPoolRunsAfterItWithTheSameValuesAndGradients) {
  for (const functional::Pool2dOptions pool :
       {functional::Pool2dOptions{2, 2, 0}, functional::Pool2dOptions{3, 1, 1},
        functional::Pool2dOptions{3, 2, 1}}) {
    Generator gen(5);
    Tensor x = Tensor::randn({2, 3, 7, 7}, gen);
    std::vector<float> v = x.to_vector();
    for (size_t i = 0; i < v.size(); i += 5)
      v[i] = std::round(v[i]);  // ties, and exact zeros
    v[10] = -0.0f;
    v[20] = std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 49; i < 98; ++i)
      v[i] = -std::abs(v[i]) - 0.5f;  // one plane all negative

    Tensor expected_input = Tensor::from_vector(v, {2, 3, 7, 7});
    expected_input.set_requires_grad(true);
    const Tensor expected = functional::max_pool2d(functional::relu(expected_input), pool);

    auto relu = std::make_shared<RecordingReLU>();
    Graph graph;
    graph.add(relu);
    graph.add(std::make_shared<MaxPool2d>(pool));
    Tensor input = Tensor::from_vector(v, {2, 3, 7, 7});
    input.set_requires_grad(true);
    const Tensor got = graph.forward(input);

    ASSERT_EQ(relu->shapes, std::vector<Shape>{got.shape()}) << "the ReLU should run on the pooled output";
    EXPECT_EQ(bits_of(got), bits_of(expected));
    const Tensor w = Tensor::randn(got.shape(), gen);
    sum(mul(got, w)).backward();
    sum(mul(expected, w)).backward();
    EXPECT_EQ(bits_of(input.grad()), bits_of(expected_input.grad()));
  }
}

// Only when the pool is the ReLU's one reader: a ReLU whose output another layer reads too runs first.
TEST(Graph, AReluReadByMoreThanThePoolRunsFirst) {
  auto relu = std::make_shared<RecordingReLU>();
  Graph graph;
  graph.add(relu);                                                                  // layer 0
  graph.add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}));       // layer 1 reads 0
  graph.add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}), {0});  // layer 2 reads 0 too
  graph.add(std::make_shared<Add>(), {1, 2});
  Generator gen(2);
  const Tensor x = Tensor::randn({1, 2, 4, 4}, gen);
  const Tensor got = graph.forward(x);
  ASSERT_EQ(relu->shapes, std::vector<Shape>{x.shape()});
  const Tensor pooled = functional::max_pool2d(functional::relu(x), {2, 2, 0});
  EXPECT_EQ(got.to_vector(), add(pooled, pooled).to_vector());
}

/// The names of the autograd nodes behind t, first seen first (depth-first from t's grad_fn).
std::vector<std::string> node_names(const Tensor& t) {
  std::vector<std::string> names;
  std::vector<std::shared_ptr<Node>> stack{t.grad_fn()};
  while (!stack.empty()) {
    const std::shared_ptr<Node> node = stack.back();
    stack.pop_back();
    if (!node) continue;
    names.push_back(node->name());
    for (const Edge& e : node->inputs)
      stack.push_back(e.node);
  }
  return names;
}

bool has_node(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A Conv2d read only by a MaxPool2d, directly or through a ReLU, runs as one conv2d_max_pool2d
// (graph.cpp: plan_step), with the values and gradients of the layers one by one, bit for bit; the
// parameters' gradients too.
TEST(Graph, AConvReadOnlyByAMaxPoolRunsFusedWithTheSameValuesAndGradients) {
  for (const bool with_relu : {true, false}) {
    Generator g1(3), g2(3);
    auto conv1 = std::make_shared<Conv2d>(2, 6, 3, functional::Conv2dOptions{1, 1, 1, 1}, true, g1);
    auto conv2 = std::make_shared<Conv2d>(6, 4, 3, functional::Conv2dOptions{1, 0, 1, 2}, true, g1);
    auto same1 = std::make_shared<Conv2d>(2, 6, 3, functional::Conv2dOptions{1, 1, 1, 1}, true, g2);
    auto same2 = std::make_shared<Conv2d>(6, 4, 3, functional::Conv2dOptions{1, 0, 1, 2}, true, g2);
    Graph graph;
    graph.add(conv1);
    if (with_relu) graph.add(std::make_shared<ReLU>());
    graph.add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}));
    graph.add(conv2);
    graph.add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{3, 2, 1}));
    Generator gen(8);
    Tensor input = Tensor::randn({3, 2, 12, 12}, gen).set_requires_grad(true);
    Tensor same_input = input.detach().set_requires_grad(true);

    const Tensor got = graph.forward(input);
    Tensor h = same1->forward(same_input);
    if (with_relu) h = functional::relu(h);
    h = functional::max_pool2d(h, {2, 2, 0});
    const Tensor expected = functional::max_pool2d(same2->forward(h), {3, 2, 1});

    const std::vector<std::string> names = node_names(got);
    EXPECT_TRUE(has_node(names, "conv2d_max_pool2d")) << "the convs should run fused";
    EXPECT_FALSE(has_node(names, "conv2d")) << "no conv should run alone";
    EXPECT_EQ(has_node(names, "relu"), with_relu);
    EXPECT_EQ(bits_of(got), bits_of(expected));
    const Tensor w = Tensor::randn(got.shape(), gen);
    sum(mul(got, w)).backward();
    sum(mul(expected, w)).backward();
    EXPECT_EQ(bits_of(input.grad()), bits_of(same_input.grad()));
    EXPECT_EQ(bits_of(conv1->weight.grad()), bits_of(same1->weight.grad()));
    EXPECT_EQ(bits_of(conv1->bias.grad()), bits_of(same1->bias.grad()));
    EXPECT_EQ(bits_of(conv2->weight.grad()), bits_of(same2->weight.grad()));
    EXPECT_EQ(bits_of(conv2->bias.grad()), bits_of(same2->bias.grad()));
  }
}

// Only when the pool is the conv's one reader (through the ReLU, the ReLU's too): a conv whose output
// another layer also reads runs alone, and so does one followed by an average pool.
TEST(Graph, AConvReadByMoreThanAMaxPoolRunsAlone) {
  Generator gen(4);
  auto conv = std::make_shared<Conv2d>(1, 2, 3, functional::Conv2dOptions{}, true, gen);
  Graph graph;
  graph.add(conv);                                                                  // layer 0
  graph.add(std::make_shared<ReLU>());                                              // layer 1 reads 0
  graph.add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}));       // layer 2 reads 1
  graph.add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}), {0});  // layer 3 reads 0 too
  graph.add(std::make_shared<Add>(), {2, 3});
  const Tensor x = Tensor::randn({2, 1, 6, 6}, gen);
  const Tensor got = graph.forward(x);
  EXPECT_FALSE(has_node(node_names(got), "conv2d_max_pool2d"));
  const Tensor y = conv->forward(x);
  const Tensor expected =
      add(functional::max_pool2d(functional::relu(y), {2, 2, 0}), functional::max_pool2d(y, {2, 2, 0}));
  EXPECT_EQ(bits_of(got), bits_of(expected));

  Graph averaged;
  averaged.add(conv);
  averaged.add(std::make_shared<AvgPool2d>(functional::Pool2dOptions{2, 2, 0}));
  EXPECT_FALSE(
      has_node(node_names(averaged.forward(x.detach().set_requires_grad(true))), "conv2d_max_pool2d"));
}

// NetBN's blocks: a BatchNorm2d read only by a MaxPool2d, directly or through a ReLU, runs as one
// batch_norm_max_pool2d, with the values, gradients and running statistics of the layers one by one, bit
// for bit, in training and in eval.
TEST(Graph, ABatchNormReadOnlyByAMaxPoolRunsFusedWithTheSameValuesAndGradients) {
  for (const bool with_relu : {true, false}) {
    for (const bool training : {true, false}) {
      Generator g1(5), g2(5);
      auto conv = std::make_shared<Conv2d>(2, 6, 3, functional::Conv2dOptions{}, true, g1);
      auto same_conv = std::make_shared<Conv2d>(2, 6, 3, functional::Conv2dOptions{}, true, g2);
      auto bn = std::make_shared<BatchNorm2d>(6), same_bn = std::make_shared<BatchNorm2d>(6);
      for (BatchNorm2d* b : {bn.get(), same_bn.get()}) {  // not the identity: a negative weight too
        b->weight.data()[1] = -0.75f;
        b->bias.data()[2] = 0.5f;
        b->running_mean.data()[3] = 0.25f;
        b->running_var.data()[4] = 2.0f;
      }
      Graph graph;
      graph.add(conv);
      graph.add(bn);
      if (with_relu) graph.add(std::make_shared<ReLU>());
      graph.add(std::make_shared<MaxPool2d>(functional::Pool2dOptions{3, 2, 1}));
      graph.train(training);
      same_bn->train(training);
      Generator gen(8);
      Tensor input = Tensor::randn({3, 2, 12, 11}, gen).set_requires_grad(true);
      Tensor same_input = input.detach().set_requires_grad(true);

      const Tensor got = graph.forward(input);
      Tensor h = same_bn->forward(same_conv->forward(same_input));
      if (with_relu) h = functional::relu(h);
      const Tensor expected = functional::max_pool2d(h, {3, 2, 1});

      const std::vector<std::string> names = node_names(got);
      EXPECT_TRUE(has_node(names, "batch_norm_max_pool2d")) << "the batch norm should run fused";
      EXPECT_FALSE(has_node(names, "batch_norm")) << "no batch norm should run alone";
      EXPECT_EQ(bits_of(got), bits_of(expected));
      EXPECT_EQ(bits_of(bn->running_mean), bits_of(same_bn->running_mean));
      EXPECT_EQ(bits_of(bn->running_var), bits_of(same_bn->running_var));
      EXPECT_EQ(bits_of(bn->num_batches_tracked), bits_of(same_bn->num_batches_tracked));
      const Tensor w = Tensor::randn(got.shape(), gen);
      sum(mul(got, w)).backward();
      sum(mul(expected, w)).backward();
      EXPECT_EQ(bits_of(input.grad()), bits_of(same_input.grad()));
      EXPECT_EQ(bits_of(conv->weight.grad()), bits_of(same_conv->weight.grad()));
      EXPECT_EQ(bits_of(bn->weight.grad()), bits_of(same_bn->weight.grad()));
      EXPECT_EQ(bits_of(bn->bias.grad()), bits_of(same_bn->bias.grad()));
    }
  }
}

TEST(Graph, RefusesAnInputThatIsNotAnEarlierLayer) {
  Graph graph;
  EXPECT_THROW(graph.add(std::make_shared<ReLU>(), {0}), std::invalid_argument);  // no layer 0 yet
  EXPECT_THROW(graph.add(std::make_shared<ReLU>(), std::vector<int64_t>{}), std::invalid_argument);
  graph.add(std::make_shared<ReLU>());
  EXPECT_THROW(graph.add(std::make_shared<ReLU>(), {-2}), std::invalid_argument);
  try {
    graph.add(std::make_shared<ReLU>(), {1});
    ADD_FAILURE() << "reading itself was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "Graph::add: layer 1 cannot read 1 (expected an earlier layer, 0..0, or kGraphInput)");
  }
}

TEST(Graph, ASingleInputLayerRefusesTwoInputs) {
  Graph graph;
  graph.add(std::make_shared<ReLU>());
  graph.add(std::make_shared<ReLU>(), {0, Graph::kGraphInput});
  try {
    graph.forward(Tensor::ones({2, 2}));
    ADD_FAILURE() << "a ReLU ran on two inputs";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "ReLU() takes one input, not 2");
  }
}

}  // namespace
}  // namespace qg::nn
