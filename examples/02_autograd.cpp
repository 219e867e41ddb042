// Chapter 2 of the course (docs/tutorial/02-autograd.md): the graph autograd records, a backward pass worked
// by hand next to the engine's, and a Function of our own.
//
//   build/examples/02_autograd          prints what the chapter shows
//   build/examples/02_autograd --dot    prints only the graph of part 1 in Graphviz DOT (pipe it to dot -Tsvg)
//   build/examples/02_autograd --part N only part N (1 the graph, 2 the backward pass, 3 a Function)
//   build/examples/02_autograd --test   the same checks; exits non-zero if one fails
//
// The program needs no data, so both modes run the same code and the same checks.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/dot.h"        // to_dot: the graph in Graphviz DOT
#include "autograd/function.h"   // apply<Fn>: the Function API
#include "autograd/gradcheck.h"  // gradcheck: analytic vs numerical gradient
#include "autograd/ops.h"        // the differentiable ops: +, *, pow, sum, ...
#include "check.h"
#include "core/kernels/elementwise.h"  // kernel::exp, kernel::mul, ...: plain math for a Function's insides
#include "core/tensor.h"

using qg::Tensor;

namespace {

using course::check;

// One line about a tensor's place in the graph.
void describe(const char* name, const Tensor& t) {
  std::printf("  %-2s = %-7g requires_grad %-3s  leaf %-3s  grad_fn %s\n", name, t.item(),
              t.requires_grad() ? "yes" : "no", t.is_leaf() ? "yes" : "no",
              t.grad_fn() ? t.grad_fn()->name() : "-");
}

// ---- Part 1 and 2: the graph of a tiny regression loss, and its backward pass by hand --------------------
//
//   L = (w·x + b − t)² + λ·w²      one neuron, squared error, weight decay λ
//
// x (input) and t (target) are data; w and b are parameters.
struct Example {
  static constexpr float x_value = 3.0f, t_value = 2.0f, w_value = 0.5f, b_value = -1.0f, lambda = 0.1f;
  Tensor x = Tensor::scalar(x_value);
  Tensor t = Tensor::scalar(t_value);
  Tensor w = Tensor::scalar(w_value).set_requires_grad(true);
  Tensor b = Tensor::scalar(b_value).set_requires_grad(true);
  // The intermediate results, kept so that we can print them.
  Tensor u, z, e, sq, decay, L;

  Example() {
    u = w * x;                          // mul
    z = u + b;                          // add
    e = z - t;                          // sub
    sq = qg::pow(e, 2.0f);              // pow
    decay = qg::pow(w, 2.0f) * lambda;  // pow, mul_scalar
    L = sq + decay;                     // add
  }
};

void graph_part(const Example& ex) {
  std::printf("== 1. The graph\n");
  std::printf("L = (w*x + b - t)^2 + 0.1*w^2 with x = 3, t = 2 (data) and w = 0.5, b = -1 (parameters)\n");
  const std::vector<std::pair<const char*, Tensor>> tensors{
      {"x", ex.x}, {"t", ex.t}, {"w", ex.w}, {"b", ex.b}, {"u", ex.u}, {"z", ex.z}, {"e", ex.e}, {"L", ex.L}};
  for (const auto& [name, t] : tensors)
    describe(name, t);
  check(!ex.x.requires_grad() && ex.w.requires_grad() && ex.w.is_leaf(), "data needs no grad, w is a leaf");
  check(ex.u.requires_grad() && !ex.u.is_leaf() && std::string(ex.u.grad_fn()->name()) == "mul",
        "u = w*x requires grad because w does, and was made by mul");
  // The node that made u keeps one edge per input: to w's .grad, and none for x (no gradient goes there).
  const qg::Node& mul_node = *ex.u.grad_fn();
  std::printf("  u's node '%s' has %zu inputs: w -> %s, x -> %s\n", mul_node.name(), mul_node.inputs.size(),
              mul_node.inputs[0].leaf ? "leaf w's .grad" : "?",
              mul_node.inputs[1].is_connected() ? "?" : "no edge (x does not require grad)");
  check(mul_node.inputs[0].leaf == ex.w.impl_ptr() && !mul_node.inputs[1].is_connected(), "mul's edges");
  std::printf("\nThe graph in Graphviz DOT (to_dot(L, {{\"w\", w}, {\"b\", b}})):\n%s",
              qg::to_dot(ex.L, {{"w", ex.w}, {"b", ex.b}}).c_str());
}

void backward_part(Example& ex) {
  std::printf("== 2. The backward pass, by hand and by autograd\n");
  // Forward values by hand, in double.
  const double x = Example::x_value, t = Example::t_value, w = Example::w_value, b = Example::b_value;
  const double lambda = Example::lambda;
  const double u = w * x, z = u + b, e = z - t, L = e * e + lambda * w * w;
  std::printf("forward:  u = w*x = %g   z = u + b = %g   e = z - t = %g   L = e^2 + 0.1 w^2 = %g\n", u, z, e,
              L);
  check(std::abs(ex.L.item() - L) < 1e-6, "autograd's L equals the hand-computed L");

  // Backward by the chain rule, from L towards the leaves. Each line: the local derivative times what
  // arrived from above.
  const double dL_dL = 1.0;
  const double dL_de = dL_dL * 2 * e;                 // d(e^2)/de = 2e
  const double dL_dz = dL_de * 1.0;                   // d(z - t)/dz = 1
  const double dL_du = dL_dz * 1.0;                   // d(u + b)/du = 1
  const double dL_db = dL_dz * 1.0;                   // d(u + b)/db = 1
  const double dL_dw_mul = dL_du * x;                 // d(w x)/dw = x
  const double dL_dw_decay = dL_dL * lambda * 2 * w;  // d(0.1 w^2)/dw = 0.2 w
  const double dL_dw = dL_dw_mul + dL_dw_decay;       // w is used twice: the two paths add
  std::printf("backward: dL/de = 2e = %g\n", dL_de);
  std::printf("          dL/dz = dL/de * 1 = %g\n", dL_dz);
  std::printf("          dL/du = dL/dz * 1 = %g,  dL/db = dL/dz * 1 = %g\n", dL_du, dL_db);
  std::printf("          dL/dw = dL/du * x + 0.2 w = %g + %g = %g\n", dL_dw_mul, dL_dw_decay, dL_dw);

  ex.L.backward();  // the engine: the same sweep, node by node
  std::printf("%-6s %12s %12s\n", "", "by hand", "autograd");
  std::printf("%-6s %12g %12g\n", "dL/dw", dL_dw, ex.w.grad().item());
  std::printf("%-6s %12g %12g\n", "dL/db", dL_db, ex.b.grad().item());
  check(std::abs(ex.w.grad().item() - dL_dw) < 1e-6 && std::abs(ex.b.grad().item() - dL_db) < 1e-6,
        "autograd's gradients equal the chain rule worked by hand");
  check(!ex.x.grad().defined(), "x does not require grad, so it gets no .grad");

  // Gradients accumulate: a second backward adds the same amount again, until zero_grad().
  qg::pow(ex.w * ex.x + ex.b - ex.t, 2.0f).backward();
  std::printf("after a second backward of (w*x + b - t)^2 without zero_grad: w.grad = %g (= %g + %g)\n",
              ex.w.grad().item(), dL_dw, dL_dw_mul);
  check(std::abs(ex.w.grad().item() - (dL_dw + dL_dw_mul)) < 1e-6, "gradients accumulate (+=)");
  ex.w.zero_grad();
  check(!ex.w.grad().defined(), "zero_grad drops the gradient");
}

// ---- Part 3: a Function of our own ----------------------------------------------------------------------
//
// tanh(x) = 1 − 2 / (e^(2x) + 1),   d tanh / dx = 1 − tanh(x)²
//
// (the form 1 − 2/(e^(2x) + 1) stays finite for any x: e^(2x) = inf gives 1, e^(2x) = 0 gives −1.)
// forward and backward side by side; forward saves its output y, which is all backward needs.
struct TanhFn {
  static constexpr const char* name = "tanh";  // the node's name in errors and in to_dot
  Tensor y;                                    // saved for backward (PyTorch: ctx.save_for_backward)

  Tensor forward(const Tensor& x) {  // plain kernels: nothing in here is recorded
    namespace kernel = qg::kernel;
    const Tensor denominator = kernel::add_scalar(kernel::exp(kernel::mul_scalar(x, 2.0f)), 1.0f);
    const Tensor fraction = kernel::div(Tensor::full(x.shape(), 2.0f), denominator);
    y = kernel::add_scalar(kernel::neg(fraction), 1.0f);
    return y;
  }
  std::vector<Tensor> backward(const Tensor& grad) {  // one gradient per tensor input of forward
    namespace kernel = qg::kernel;
    const Tensor local = kernel::add_scalar(kernel::neg(kernel::mul(y, y)), 1.0f);  // 1 − y²
    return {kernel::mul(grad, local)};
  }
};

Tensor tanh(const Tensor& x) {
  return qg::apply<TanhFn>(x);
}

// The same op with a typical mistake: the derivative written with the input x where it needs the output y,
// 1 − x² instead of 1 − y².
struct WrongTanhFn {
  static constexpr const char* name = "wrong_tanh";
  TanhFn right;
  Tensor x;
  Tensor forward(const Tensor& input) {
    x = input;
    return right.forward(input);
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    return {qg::kernel::mul(grad, qg::kernel::add_scalar(qg::kernel::neg(qg::kernel::mul(x, x)), 1.0f))};
  }
};

void function_part() {
  std::printf("== 3. A custom Function: tanh\n");
  const Tensor x = Tensor::from_vector({-2.0f, -0.5f, 0.0f, 1.0f, 3.0f}, {5}).set_requires_grad(true);
  const Tensor y = tanh(x);
  qg::sum(y).backward();
  std::printf("%8s %10s %10s %14s\n", "x", "tanh", "autograd", "1 - y^2 by hand");
  for (int64_t i = 0; i < 5; ++i) {
    const double t = std::tanh(static_cast<double>(x.at({i})));
    std::printf("%8g %10.6f %10.6f %14.6f\n", x.at({i}), y.at({i}), x.grad().at({i}), 1 - t * t);
    check(std::abs(y.at({i}) - t) < 1e-6 && std::abs(x.grad().at({i}) - (1 - t * t)) < 1e-6,
          "tanh and its gradient match the formula");
  }
  std::printf("the graph of sum(tanh(x)): tanh is one node\n%s",
              qg::to_dot(qg::sum(tanh(x)), {{"x", x}}).c_str());

  // The numerical check: central differences of L = <r, f(x)> against backward (autograd/gradcheck.h).
  const Tensor probe =
      Tensor::from_vector({-1.5f, -0.2f, 0.3f, 0.9f, 2.0f, 4.0f}, {2, 3}).set_requires_grad(true);
  const qg::GradcheckResult good =
      qg::gradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]); }, {probe});
  std::printf("gradcheck(tanh):       %s, max |analytic - numeric| = %.1e\n", good.ok ? "ok" : "FAILED",
              good.max_abs_error);
  check(good.ok, "gradcheck accepts the correct backward");
  const qg::GradcheckResult bad =
      qg::gradcheck([](const std::vector<Tensor>& in) { return qg::apply<WrongTanhFn>(in[0]); }, {probe});
  std::printf("gradcheck(wrong_tanh): %s\n  %s\n", bad.ok ? "ok" : "FAILED", bad.message.c_str());
  check(!bad.ok, "gradcheck catches 1 - x^2 in place of 1 - y^2");
}

}  // namespace

int main(int argc, char** argv) {
  bool dot_only = false;
  int part = 0;  // 0: all parts
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dot") {
      dot_only = true;
    } else if (arg == "--part" && i + 1 < argc) {
      part = (std::string(argv[++i]).size() == 1 ? argv[i][0] - '0' : -1);
    } else if (arg != "--test") {
      std::fprintf(stderr, "02_autograd: unknown argument '%s' (expected: --test, --dot, --part 1..3)\n",
                   argv[i]);
      return 2;
    }
  }
  if (part < 0 || part > 3) {
    std::fprintf(stderr, "02_autograd: --part must be 1..3\n");
    return 2;
  }
  Example example;
  if (dot_only) {
    std::printf("%s", qg::to_dot(example.L, {{"w", example.w}, {"b", example.b}}).c_str());
    return 0;
  }
  if (part == 0 || part == 1) graph_part(example);
  if (part == 0) std::printf("\n");
  if (part == 0 || part == 2) backward_part(example);
  if (part == 0) std::printf("\n");
  if (part == 0 || part == 3) function_part();
  if (course::failures()) {
    std::fprintf(stderr, "02_autograd: %d check(s) failed\n", course::failures());
    return 1;
  }
  return 0;
}
