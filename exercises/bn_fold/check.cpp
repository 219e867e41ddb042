// Checks exercise::fold_batch_norm (your file) against qg::quant::fold_batch_norm (the library's): the folded
// weight and bias, and the gradients of a random projection of both w.r.t. weight, bias, gamma and beta.
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "exercises/bn_fold/bn_fold.h"
#include "exercises/common/check.h"

namespace {

using qg::Shape;
using qg::Tensor;
using qg::quant::FoldedConv;

using Fold = std::function<FoldedConv(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                      const Tensor&, const Tensor&, float)>;

struct Case {
  std::string name;
  Tensor weight, bias, mean, var, gamma, beta;  // bias, gamma, beta may be undefined
  float eps;
};

struct Outcome {
  FoldedConv folded;
  std::vector<Tensor> grads;  // of weight, bias, gamma, beta (undefined where the input is)
};

Tensor leaf(const Tensor& t) {  // a fresh copy that requires grad, or undefined
  if (!t.defined()) return t;
  Tensor copy = t.clone();
  copy.set_requires_grad(true);
  return copy;
}

// Folds with `fold` on fresh leaves, then back-propagates L = <r_w, W_fold> + <r_b, b_fold>.
Outcome run(const Fold& fold, const Case& c, const Tensor& r_w, const Tensor& r_b, bool& has_graph) {
  std::vector<Tensor> leaves = {leaf(c.weight), leaf(c.bias), leaf(c.gamma), leaf(c.beta)};
  Outcome out;
  out.folded = fold(leaves[0], leaves[1], c.mean, c.var, leaves[2], leaves[3], c.eps);
  has_graph = out.folded.weight.defined() && out.folded.bias.defined() && out.folded.weight.requires_grad() &&
              out.folded.bias.requires_grad();
  if (has_graph) {
    const Tensor loss =
        qg::add(qg::sum(qg::mul(out.folded.weight, r_w)), qg::sum(qg::mul(out.folded.bias, r_b)));
    loss.backward();
  }
  for (const Tensor& l : leaves)
    out.grads.push_back(l.defined() ? l.grad() : Tensor());
  return out;
}

void compare_values(exercise::Check& check, const std::string& inputs, const std::string& name,
                    const Tensor& yours, const Tensor& library) {
  check.require(inputs, yours.defined(), "your " + name + " is undefined");
  check.equal(inputs, name + " shape", qg::to_string(yours.shape()), qg::to_string(library.shape()));
  const std::vector<float> a = yours.to_vector(), b = library.to_vector();
  for (size_t i = 0; i < b.size(); ++i)
    check.close(inputs, name + " (flat element " + std::to_string(i) + ")", a[i], b[i], 1e-6, 1e-5);
}

void compare(exercise::Check& check, const Case& c, qg::Generator& gen) {
  const std::string inputs = "fold_batch_norm, " + c.name + " (weight " + qg::to_string(c.weight.shape()) +
                             ", eps " + exercise::Check::show(c.eps) + ")";
  const Tensor r_w = Tensor::uniform(c.weight.shape(), -1.0f, 1.0f, gen);
  const Tensor r_b = Tensor::uniform({c.weight.shape()[0]}, -1.0f, 1.0f, gen);
  bool library_graph = false, your_graph = false;
  const Outcome library = run(qg::quant::fold_batch_norm, c, r_w, r_b, library_graph);
  const Outcome yours = run(exercise::fold_batch_norm, c, r_w, r_b, your_graph);
  compare_values(check, inputs, "W_fold", yours.folded.weight, library.folded.weight);
  compare_values(check, inputs, "b_fold", yours.folded.bias, library.folded.bias);
  check.require(inputs, your_graph,
                "your W_fold or b_fold does not require grad: QAT trains through the fold, so build it from "
                "autograd ops (qg::mul, qg::add, ...) on weight, bias, gamma and beta");
  const char* names[] = {"dL/dweight", "dL/dbias", "dL/dgamma", "dL/dbeta"};
  for (size_t k = 0; k < 4; ++k) {
    if (!library.grads[k].defined()) continue;
    check.require(
        inputs, yours.grads[k].defined(),
        std::string("no gradient reached ") + names[k] + "'s input: is it used through autograd ops?");
    compare_values(check, inputs + " with L = <r_w, W_fold> + <r_b, b_fold>", names[k], yours.grads[k],
                   library.grads[k]);
  }
}

void check_bn_fold(exercise::Check& check) {
  qg::Generator gen(17);
  auto uniform = [&](const Shape& shape, float lo, float hi) { return Tensor::uniform(shape, lo, hi, gen); };
  std::vector<Case> cases;
  for (const Shape& w : std::vector<Shape>{{4, 3, 3, 3}, {1, 1, 1, 1}, {6, 2, 1, 1}, {3, 1, 5, 2}}) {
    const Shape c = {w[0]};
    cases.push_back({"conv with bias, BatchNorm with gamma and beta", uniform(w, -1, 1), uniform(c, -1, 1),
                     uniform(c, -1, 1), uniform(c, 0.1f, 2), uniform(c, 0.5f, 1.5f), uniform(c, -1, 1),
                     1e-5f});
    cases.push_back({"conv without bias", uniform(w, -1, 1), Tensor(), uniform(c, -1, 1), uniform(c, 0.1f, 2),
                     uniform(c, 0.5f, 1.5f), uniform(c, -1, 1), 1e-5f});
    cases.push_back({"BatchNorm without affine (no gamma, no beta)", uniform(w, -1, 1), uniform(c, -1, 1),
                     uniform(c, -1, 1), uniform(c, 0.1f, 2), Tensor(), Tensor(), 1e-5f});
    cases.push_back({"negative gamma, a large eps", uniform(w, -1, 1), uniform(c, -1, 1), uniform(c, -1, 1),
                     uniform(c, 0.1f, 2), uniform(c, -1.5f, -0.5f), uniform(c, -1, 1), 0.1f});
    cases.push_back({"var = 0 (a channel that never varies: only eps keeps std > 0)", uniform(w, -1, 1),
                     uniform(c, -1, 1), uniform(c, -1, 1), Tensor::zeros(c), uniform(c, 0.5f, 1.5f),
                     uniform(c, -1, 1), 1e-3f});
  }
  for (const Case& c : cases)
    compare(check, c, gen);

  // Statistics that do not match the weight are an error, as in the library.
  const Tensor w = uniform({4, 3, 3, 3}, -1, 1), three = uniform({3}, 0.1f, 1), four = uniform({4}, 0.1f, 1);
  check.throws("fold_batch_norm(weight [4,3,3,3], mean [3])",
               [&] { exercise::fold_batch_norm(w, Tensor(), three, four, Tensor(), Tensor(), 1e-5f); });
  check.throws("fold_batch_norm(weight [4,3,3,3], var [3])",
               [&] { exercise::fold_batch_norm(w, Tensor(), four, three, Tensor(), Tensor(), 1e-5f); });
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("bn_fold", argc, argv, check_bn_fold);
}
