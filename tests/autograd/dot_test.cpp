// to_dot (autograd/dot.h): the structure of known graphs, and that the text is the same on every run.
#include "autograd/dot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/function.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"

namespace qg {
namespace {

// The statement lines between "digraph autograd {" and "}", without indentation and ';'.
std::vector<std::string> statements(const std::string& dot) {
  std::vector<std::string> lines;
  std::istringstream in(dot);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("  ", 0) != 0) continue;
    line = line.substr(2);
    if (line.rfind("node [", 0) == 0) continue;
    lines.push_back(line.substr(0, line.size() - 1));
  }
  return lines;
}

// How many boxes or ellipses (declarations, not edges) have ids starting with `prefix`.
int64_t count_declared(const std::vector<std::string>& lines, const std::string& prefix) {
  return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.rfind(prefix, 0) == 0 && l.find(" [label=") != std::string::npos;
  });
}

TEST(Dot, LinearLayerGraphHasOneNodePerOpAndLeafAndEdgesInDataFlowOrder) {
  // loss = sum(x w + b): x is data, w and b are parameters.
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = Tensor::ones({3, 1}).set_requires_grad(true);
  Tensor b = Tensor::zeros({1}).set_requires_grad(true);
  const Tensor loss = sum(matmul(x, w) + b);

  const std::string expected =
      "digraph autograd {\n"
      "  node [fontname=\"monospace\", fontsize=10];\n"
      "  const0 [label=\"[2,3]\\nno grad\", shape=box, style=dashed, color=gray];\n"
      "  leaf1 [label=\"w\\n[3,1]\\nrequires_grad\", shape=box, style=filled, fillcolor=lightblue];\n"
      "  op2 [label=\"matmul\\n[2,1]\", shape=ellipse];\n"
      "  leaf3 [label=\"b\\n[1]\\nrequires_grad\", shape=box, style=filled, fillcolor=lightblue];\n"
      "  op4 [label=\"add\\n[2,1]\", shape=ellipse];\n"
      "  op5 [label=\"sum\\n[]\", shape=ellipse, style=bold];\n"
      "  const0 -> op2;\n"
      "  leaf1 -> op2;\n"
      "  op2 -> op4;\n"
      "  leaf3 -> op4;\n"
      "  op4 -> op5;\n"
      "}\n";
  EXPECT_EQ(to_dot(loss, {{"w", w}, {"b", b}}), expected);
}

TEST(Dot, ALeafReadTwiceIsOneBoxWithTwoEdgesAndTheTextIsReproducible) {
  auto build = [] {
    Tensor a = Tensor::from_vector({1, -2}, {2}).set_requires_grad(true);
    const Tensor sq = a * a;
    return std::make_pair(a, sum(sq + sq));
  };
  const auto [a, y] = build();
  const std::string dot = to_dot(y);
  const std::vector<std::string> lines = statements(dot);
  EXPECT_EQ(count_declared(lines, "leaf"), 1);
  EXPECT_EQ(count_declared(lines, "const"), 0);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "leaf0 -> op1"), 2);  // a * a
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "op1 -> op2"), 2);    // sq + sq
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "op2 -> op3"), 1);
  EXPECT_EQ(lines.size(), 4u + 5u);  // 4 boxes and ellipses, 5 edges
  EXPECT_NE(dot.find("op1 [label=\"mul\\n[2]\""), std::string::npos);
  // Another graph of the same program: new tensors, same text.
  EXPECT_EQ(to_dot(build().second), dot);
}

// An op with an optional second input, as a layer without bias calls linear(x, w, Tensor()).
struct ScaleOrShiftFn {
  static constexpr const char* name = "scale_or_shift";
  Tensor forward(const Tensor& a, const Tensor& shift) {
    return shift.defined() ? kernel::add(a, shift) : kernel::mul_scalar(a, 2.0f);
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {grad, Tensor()}; }
};

TEST(Dot, UndefinedArgumentsAreLeftOutAndConstantsKeepTheirShape) {
  Tensor a = Tensor::ones({3}).set_requires_grad(true);
  const std::vector<std::string> without = statements(to_dot(apply<ScaleOrShiftFn>(a, Tensor())));
  EXPECT_EQ(without,
            (std::vector<std::string>{
                "leaf0 [label=\"[3]\\nrequires_grad\", shape=box, style=filled, fillcolor=lightblue]",
                "op1 [label=\"scale_or_shift\\n[3]\", shape=ellipse, style=bold]", "leaf0 -> op1"}));
  const std::vector<std::string> with = statements(to_dot(apply<ScaleOrShiftFn>(a, Tensor::zeros({1}))));
  EXPECT_EQ(count_declared(with, "const"), 1);
  EXPECT_EQ(with[1], "const1 [label=\"[1]\\nno grad\", shape=box, style=dashed, color=gray]");
  EXPECT_EQ(with.back(), "const1 -> op2");
}

TEST(Dot, ATensorWithoutHistoryIsOneBoxAndUndefinedIsAnError) {
  Tensor w = Tensor::zeros({2, 2}).set_requires_grad(true);
  EXPECT_EQ(statements(to_dot(w, {{"weight \"w\"", w}})),
            (std::vector<std::string>{"leaf0 [label=\"weight \\\"w\\\"\\n[2,2]\\nrequires_grad\", shape=box, "
                                      "style=filled, fillcolor=lightblue]"}));
  EXPECT_EQ(
      statements(to_dot(Tensor::zeros({2}) * 3.0f)),
      (std::vector<std::string>{"const0 [label=\"[2]\\nno grad\", shape=box, style=dashed, color=gray]"}));
  EXPECT_THROW(to_dot(Tensor()), std::invalid_argument);
}

}  // namespace
}  // namespace qg
