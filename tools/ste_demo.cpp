// ste_demo: the tutorial's demonstration of why QAT needs the straight-through estimator.
//
// A conv layer learns to imitate a fixed "teacher" conv. Its weights pass through a quantizer before
// use. If the quantizer's backward is the true derivative of round() (zero almost everywhere), every
// weight gradient is zero and the loss never moves. With FakeQuantize's straight-through estimator the
// gradient flows as if the quantizer were the identity, and the quantized conv learns.
//
//   build/tools/ste_demo [--steps N] [--bits B]
#include <cmath>
#include <cstdio>

#include "app/flags.h"
#include "autograd/function.h"
#include "autograd/ops.h"
#include "nn/functional/conv2d.h"
#include "nn/optim/sgd.h"
#include "quant/fake_quantize.h"

namespace {

using namespace qg;

// round(x / s) * s with the true derivative of round: zero.
struct RoundWithTrueGradientFn {
  static constexpr const char* name = "round_true_gradient";
  Shape shape;
  Tensor forward(const Tensor& x, const quant::QParams& qp) {
    shape = x.shape();
    return quant::fake_quantize(x.detach(), qp);
  }
  std::vector<Tensor> backward(const Tensor&) { return {Tensor::zeros(shape)}; }
};

double weight_gradient_norm(const Tensor& w) {
  if (!w.grad().defined()) return 0.0;
  double sum = 0;
  for (float g : w.grad().to_vector())
    sum += double(g) * g;
  return std::sqrt(sum);
}

void run(const char* title, bool straight_through, int64_t steps, int bits) {
  Generator gen(1);
  const Tensor teacher = Tensor::uniform({4, 1, 3, 3}, -1.0f, 1.0f, gen);
  Tensor w = Tensor::uniform({4, 1, 3, 3}, -1.0f, 1.0f, gen).set_requires_grad(true);
  nn::Sgd sgd({w}, {.lr = 0.05, .momentum = 0.5});
  const quant::QParams qp = quant::make_per_tensor(-1.0f, 1.0f, {bits, false, false});
  std::printf("%s\n", title);
  for (int64_t step = 0; step <= steps; ++step) {
    const Tensor x = Tensor::randn({16, 1, 12, 12}, gen);
    const Tensor target = nn::functional::conv2d(x, teacher, Tensor(), {});
    const Tensor wq = straight_through ? quant::fake_quantize(w, qp) : apply<RoundWithTrueGradientFn>(w, qp);
    const Tensor diff = nn::functional::conv2d(x, wq, Tensor(), {}) - target;
    const Tensor loss = mean(diff * diff);
    sgd.zero_grad();
    loss.backward();
    if (step % (steps / 5) == 0) {
      std::printf("  step %4lld  loss %.5f  |dL/dW| %.5f\n", static_cast<long long>(step), loss.item(),
                  weight_gradient_norm(w));
    }
    sgd.step();
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qg::app;
  return run_tool("ste_demo", [&] {
    Flags flags("ste_demo", "Shows that a quantized conv learns only with the straight-through estimator.",
                {{"steps", "N", "SGD steps (default 200)"}, {"bits", "B", "weight bit width (default 4)"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    const int64_t steps = flags.has("steps") ? flags.get_int("steps", 5, 100000) : 200;
    const int bits = flags.has("bits") ? static_cast<int>(flags.get_int("bits", 1, 8)) : 4;
    run("weights through round() with its true gradient (zero almost everywhere):", false, steps, bits);
    run("weights through FakeQuantize with the straight-through estimator:", true, steps, bits);
    return 0;
  });
}
