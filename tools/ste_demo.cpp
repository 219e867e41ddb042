// ste_demo: the tutorial's demonstration of why QAT needs the straight-through estimator.
//
// A conv layer learns to imitate a fixed "teacher" conv on one fixed batch of random images. Its weights
// pass through a quantizer before use. If the quantizer's backward is the true derivative of round() (zero
// almost everywhere), every weight gradient is zero: the weights never change, so neither does the loss.
// With FakeQuantize's straight-through estimator the gradient flows as if the quantizer were the identity,
// and the quantized conv learns. The demo checks both claims and fails (exit 1) if either does not hold.
//
// The batch is the same at every step on purpose: with a fresh batch each step, the loss of the frozen
// weights would still wander from batch to batch (an earlier version of this demo did that, e.g. 4.55 ->
// 4.06 while |dL/dW| stayed 0), which looks like learning but is only the data changing.
//
//   build/tools/ste_demo --steps 200 --bits 4
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

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

// |w - w0|: how far SGD has moved the weights from where they started.
double distance(const Tensor& w, const std::vector<float>& w0) {
  const std::vector<float> now = w.to_vector();
  double sum = 0;
  for (size_t i = 0; i < now.size(); ++i)
    sum += double(now[i] - w0[i]) * (now[i] - w0[i]);
  return std::sqrt(sum);
}

struct Outcome {
  float first_loss = 0, last_loss = 0;
  bool weights_unchanged = true;  // bit for bit
};

Outcome run(const char* title, bool straight_through, int64_t steps, int bits) {
  Generator gen(1);
  const Tensor teacher = Tensor::uniform({4, 1, 3, 3}, -1.0f, 1.0f, gen);
  Tensor w = Tensor::uniform({4, 1, 3, 3}, -1.0f, 1.0f, gen).set_requires_grad(true);
  const std::vector<float> w0 = w.to_vector();
  nn::Sgd sgd({w}, {.lr = 0.05, .momentum = 0.5});
  const quant::QParams qp = quant::make_per_tensor(-1.0f, 1.0f, {bits, false, false});
  const Tensor x = Tensor::randn({16, 1, 12, 12}, gen);  // one batch, the same at every step
  const Tensor target = nn::functional::conv2d(x, teacher, Tensor(), {});
  std::printf("%s\n", title);
  Outcome outcome;
  for (int64_t step = 0; step <= steps; ++step) {
    const Tensor wq = straight_through ? quant::fake_quantize(w, qp) : apply<RoundWithTrueGradientFn>(w, qp);
    const Tensor diff = nn::functional::conv2d(x, wq, Tensor(), {}) - target;
    const Tensor loss = mean(diff * diff);
    sgd.zero_grad();
    loss.backward();
    if (step == 0) outcome.first_loss = loss.item();
    outcome.last_loss = loss.item();
    if (step % (steps / 5) == 0) {
      std::printf("  step %4lld  loss %.5f  |dL/dW| %.5f  |W - W0| %.5f\n", static_cast<long long>(step),
                  loss.item(), weight_gradient_norm(w), distance(w, w0));
    }
    sgd.step();
  }
  outcome.weights_unchanged = w.to_vector() == w0;
  return outcome;
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
    const Outcome true_gradient =
        run("weights through round() with its true gradient (zero almost everywhere):", false, steps, bits);
    const Outcome ste =
        run("weights through FakeQuantize with the straight-through estimator:", true, steps, bits);
    // The claims, checked: a demo that contradicts its own text fails instead of printing it.
    if (!true_gradient.weights_unchanged || true_gradient.last_loss != true_gradient.first_loss)
      throw std::runtime_error("the true gradient of round() moved the weights or the loss; it should not");
    if (ste.weights_unchanged)
      throw std::runtime_error("the straight-through estimator left the weights unchanged; it should not");
    std::printf("true gradient: the weights never changed, so the loss on this batch stayed %.5f\n",
                true_gradient.first_loss);
    std::printf("straight-through estimator: the weights moved and the loss %s from %.5f to %.5f%s\n",
                ste.last_loss < ste.first_loss ? "fell" : "went", ste.first_loss, ste.last_loss,
                ste.last_loss < ste.first_loss ? "" : " (too few --steps or --bits to learn)");
    return 0;
  });
}
