// Checks exercise::sigmoid (your file) against qg::nn::functional::sigmoid (the library's): values,
// gradients, the graph node it records, and the numerical gradient check.
#include <sstream>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "core/kernels/views.h"
#include "exercises/common/check.h"
#include "exercises/custom_function/custom_function.h"
#include "nn/functional/activation.h"

namespace {

using qg::Tensor;

std::string describe(const Tensor& x) {
  std::ostringstream values;
  const std::vector<float> v = x.to_vector();
  for (size_t i = 0; i < v.size() && i < 6; ++i)
    values << (i ? ", " : "") << exercise::Check::show(v[i]);
  return "sigmoid(x " + qg::to_string(x.shape()) + (x.is_contiguous() ? "" : " (a strided view)") + " = [" +
         values.str() + (v.size() > 6 ? ", ...])" : "])");
}

void compare_values(exercise::Check& check, const std::string& inputs, const std::string& name,
                    const Tensor& yours, const Tensor& library, const Tensor& x) {
  check.require(inputs, yours.defined(), "your " + name + " is undefined");
  check.equal(inputs, name + " shape", qg::to_string(yours.shape()), qg::to_string(library.shape()));
  const std::vector<float> a = yours.to_vector(), b = library.to_vector(), xs = x.to_vector();
  for (size_t i = 0; i < b.size(); ++i)
    check.close(inputs, name + " at x = " + exercise::Check::show(xs[i]), a[i], b[i], 1e-7, 1e-5);
}

// Forward without a graph, then with one: the node's name, and the gradient of L = <r, y>.
void compare(exercise::Check& check, const Tensor& x, qg::Generator& gen) {
  const std::string inputs = describe(x);
  compare_values(check, inputs, "y", exercise::sigmoid(x), qg::nn::functional::sigmoid(x), x);

  Tensor mine = x.detach(), theirs = x.detach();
  mine.set_requires_grad(true);
  theirs.set_requires_grad(true);
  const Tensor y = exercise::sigmoid(mine);
  check.require(
      inputs, y.requires_grad() && y.grad_fn() != nullptr,
      "for an input that requires grad, your output has no graph node: return qg::apply<SigmoidFn>(x)");
  check.equal(inputs, "the output's grad_fn", std::string(y.grad_fn()->name()), std::string("sigmoid"));
  const Tensor r = Tensor::uniform(x.shape(), -1.0f, 1.0f, gen);
  y.backward(r);
  qg::nn::functional::sigmoid(theirs).backward(r);
  check.require(inputs, mine.grad().defined(), "no gradient reached x: does backward return {dL/dx}?");
  compare_values(check, inputs + " with L = <r, y>, r random", "dL/dx", mine.grad(), theirs.grad(), x);
}

void check_custom_function(exercise::Check& check) {
  qg::Generator gen(23);
  compare(check, Tensor::from_vector({-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, {5}), gen);
  compare(check, Tensor::uniform({3, 5}, -6.0f, 6.0f, gen), gen);
  compare(check, Tensor::uniform({2, 3, 4}, -3.0f, 3.0f, gen), gen);
  compare(check, Tensor::scalar(0.25f), gen);
  compare(check, qg::kernel::transpose(Tensor::uniform({4, 6}, -5.0f, 5.0f, gen), 0, 1), gen);
  // Far from 0, where e^-x or e^x overflows: y must be 0 or 1 (or nearly), never NaN or infinite.
  compare(check,
          Tensor::from_vector({-1e30f, -1000.0f, -100.0f, -88.0f, -20.0f, 20.0f, 88.0f, 100.0f, 1e30f}, {9}),
          gen);

  // The numerical gradient check on yours: central differences of <r, sigmoid(x)> against your backward.
  Tensor x = Tensor::uniform({4, 5}, -4.0f, 4.0f, gen);
  x.set_requires_grad(true);
  const qg::GradcheckResult result =
      qg::gradcheck([](const std::vector<Tensor>& in) { return exercise::sigmoid(in[0]); }, {x});
  check.require("gradcheck(sigmoid, x [4,5] uniform in [-4, 4])", result.ok,
                "your backward disagrees with central differences of your forward: " + result.message);
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("custom_function", argc, argv, check_custom_function);
}
