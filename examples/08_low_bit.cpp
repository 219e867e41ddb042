// Chapter 8 (docs/tutorial/08-low-bit.md): the low-bit methods.
//
//   1. LSQ in numbers: the learned step size s, its gradient element by element (Esser et al. 2020, eq. 3),
//      the gradient scale g = 1/sqrt(N Qp) and the initialisation 2 mean|x| / sqrt(Qp).
//   2. The recipes: what each method chooses (config::resolve_quant), printed from the library's table.
//   3. Binary weights (XNOR-Net): w_hat = alpha sign(w), alpha = mean |w| per output channel.
//   4. A real run at 2 bits: PTQ, the tutorial's QAT and lsq, and lsq with its recipe changed; then 1 bit:
//      why the tutorial's grid collapses (Z = 1 and the ReLU clamp [1, 1]) and what binary does instead.
//
//   build/examples/08_low_bit            (needs MNIST in data/mnist: scripts/get-data; --data DIR elsewhere)
//   build/examples/08_low_bit --part 1   only part 1 (parts 1-3 need no MNIST)
//   build/examples/08_low_bit --test     small synthetic data, checks its own claims (what ctest runs)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/flags.h"
#include "app/quantize_job.h"
#include "app/training.h"
#include "autograd/grad_mode.h"
#include "check.h"
#include "config/builder.h"
#include "config/loader.h"
#include "config/quant_recipe.h"
#include "datasets/data_loader.h"
#include "datasets/mnist.h"
#include "datasets/synthetic_digits.h"
#include "quant/binarize.h"
#include "quant/fake_quantize_learnable.h"
#include "quant/qparams.h"
#include "runtime/runtime.h"

namespace {

using namespace qg;

using course::check;

// ---- 1. LSQ -----------------------------------------------------------------------------------------------------

void lsq_in_numbers() {
  std::printf("== 1. LSQ: a learned step size and its gradient ==\n");
  // 2-bit unsigned codes (an activation after a ReLU): Qn = 0, Qp = 3.
  const quant::QuantSpec spec{.bits = 2, .is_signed = false};
  const std::vector<float> x{0.05f, 0.31f, 0.52f, 0.74f, 1.10f, 2.60f};
  double mean_abs = 0;
  for (float v : x)
    mean_abs += std::abs(v) / x.size();
  const double qp = spec.qmax();
  const double s0 = 2.0 * mean_abs / std::sqrt(qp);
  const double g = 1.0 / std::sqrt(x.size() * qp);
  std::printf("x = 0.05 0.31 0.52 0.74 1.10 2.60; 2-bit unsigned codes 0..%d\n", spec.qmax());
  std::printf(
      "initial step s = 2 mean|x| / sqrt(Qp) = 2 * %.4f / sqrt(%g) = %.4f;  gradient scale g = 1 / sqrt(N "
      "Qp) "
      "= 1 / sqrt(%zu * %g) = %.4f\n",
      mean_abs, qp, s0, x.size(), qp, g);
  const float s = 0.35f;  // a step a few training steps later, a round number to follow by hand
  std::printf("with s = %.2f:\n", double(s));
  std::printf(
      "       x     x/s   q = clamp(round(x/s))   x_hat   dx_hat/ds: eq. 3 on q   eq. 3 on x/s   autograd   "
      "dx_hat/dx\n");
  for (float v : x) {
    Tensor xt = Tensor::from_vector({v}, {1}).set_requires_grad(true);
    Tensor st = Tensor::from_vector({s}, {1}).set_requires_grad(true);
    const Tensor y = quant::fake_quantize_learnable(xt, st, Tensor(), spec, /*grad_scale=*/1.0f);
    y.backward();
    const double u = double(v) / s;
    const double q = std::clamp(std::nearbyint(u), 0.0, qp);
    // LSQ eq. 3: round(x/s) - x/s inside the range, the clamped code (-Qn or Qp) outside. Which values are
    // "outside"? The paper tests x/s itself (x/s <= -Qn, x/s >= Qp); PyTorch's _LearnableFakeQuantize and
    // quantgrad test the rounded code, so that the mask is the one the forward pass clamped with.
    const bool clamped = std::nearbyint(u) > qp || std::nearbyint(u) < 0;
    const double on_code = clamped ? q : q - u;
    const double on_ratio = u >= qp ? qp : (u <= 0 ? 0.0 : q - u);
    std::printf("  %6.2f  %6.3f  %22.0f  %6.3f  %19.4f  %13.4f  %9.4f  %9.0f\n", double(v), u, q,
                double(y.item()), on_code, on_ratio, double(st.grad().item()), double(xt.grad().item()));
    check(std::abs(on_code - st.grad().item()) < 1e-5,
          "the autograd step gradient is LSQ's eq. 3 on the code");
    check(xt.grad().item() == (clamped ? 0.0f : 1.0f), "the input gradient is the clipped STE");
  }
  std::printf("(the training multiplies the step gradient by g, so the step moves at the weights' pace)\n\n");
  check(std::abs(s0 - 2.0 * (5.32 / 6) / std::sqrt(3.0)) < 1e-4, "LSQ's initial step 2 mean|x| / sqrt(Qp)");
}

// ---- 2. The recipes --------------------------------------------------------------------------------------------

void recipes() {
  std::printf("== 2. What each method chooses (config::resolve_quant; docs/config.md 2.4) ==\n");
  std::printf("  %-8s %-22s %-9s %-8s %-9s %-5s %-6s %-8s %-7s %s\n", "method", "observer", "weights", "STE",
              "fuse ReLU", "opt", "lr", "schedule", "warm-up", "BN frozen after");
  for (const std::string& method : config::method_names()) {
    config::QuantConfig q;
    q.method = method;
    const config::QuantRecipe r = config::resolve_quant(q);
    const std::string bn = r.freeze_bn_epoch == config::QuantConfig::kNever
                               ? "never"
                               : std::to_string(r.freeze_bn_epoch) + " epochs";
    std::printf("  %-8s %-22s %-9s %-8s %-9s %-5s %-6g %-8s %-7g %s\n", method.c_str(),
                method == "lsq" || method == "binary" ? "(learned steps)" : r.observer.c_str(),
                r.per_channel ? "per-chan" : "tensor", r.ste.c_str(), r.fuse_relu ? "yes" : "no",
                r.qat_optimizer.c_str(), r.qat_lr, r.lr_schedule.c_str(), r.warmup_epochs, bn.c_str());
  }
  std::printf("\n");
}

// ---- 3. Binary weights ----------------------------------------------------------------------------------------

void binary_weights() {
  std::printf("== 3. Binary weights (XNOR-Net) ==\n");
  const std::vector<float> w{0.31f, -0.12f, 0.05f, -0.44f, 0.27f, -0.02f};  // one output channel, 6 weights
  const Tensor wt = Tensor::from_vector(w, {1, 6});
  const std::vector<float> wb = quant::binarize_weight(wt).to_vector();
  const quant::QParams qp = quant::binary_qparams(wt);
  double alpha = 0;
  for (float v : w)
    alpha += std::abs(v) / w.size();
  std::printf("  w                 ");
  for (float v : w)
    std::printf(" %6.2f", double(v));
  std::printf("\n  alpha sign(w)     ");
  for (float v : wb)
    std::printf(" %6.3f", double(v));
  std::printf("\n  alpha = mean|w| = %.4f (binary_qparams: scale %.4f, codes -1 and +1, zero point %d)\n\n",
              alpha, double(qp.scale[0]), qp.zero_point[0]);
  for (size_t i = 0; i < w.size(); ++i)
    check(std::abs(wb[i] - (w[i] >= 0 ? 1 : -1) * alpha) < 1e-6, "w_hat = alpha sign(w)");
}

// ---- 4. Real runs ----------------------------------------------------------------------------------------------

std::shared_ptr<nn::Graph> copy_of(const config::ModelConfig& config, const nn::Graph& source) {
  Generator unused(0);
  auto copy = config::build_model(config, unused);
  const nn::NamedTensors from = source.state();
  nn::NamedTensors to = copy->state();
  for (size_t i = 0; i < to.size(); ++i)
    to[i].second.copy_from(from[i].second);
  return copy;
}

std::string percent(double accuracy) {
  char text[32];
  if (accuracy < 0) return "diverged";
  std::snprintf(text, sizeof text, "%.2f %%", 100.0 * accuracy);
  return text;
}

struct Result {
  double accuracy = -1;
  std::vector<int64_t> predictions;
  runtime::Model model;
};

// One quantization run from a copy of the float model; `change` edits the config first.
template <class Change>
Result quantize(const config::ModelConfig& base, const nn::Graph& float_model, app::QuantMethod method,
                Change change, const data::MnistDataset& train, const data::MnistDataset& test) {
  config::ModelConfig c = base;
  change(c);
  c = config::revalidate(c);
  const auto model = copy_of(c, float_model);
  Result r;
  try {
    app::QuantOutcome o = app::quantize_model(c, *model, method, train, test, 0.0, /*quiet=*/true);
    r.accuracy = o.integer.accuracy;
    r.predictions = o.integer.predictions;
    r.model = std::move(o.model);
    check(o.agreement == 1.0, "the integer model agrees with its fake-quant model");
  } catch (const std::exception& e) {  // a diverged run is a result too
    std::fprintf(stderr, "%s\n", e.what());
  }
  return r;
}

// The share of the first conv's output codes, over the first 200 test images, that are above its lowest code:
// how much the first layer still says about the image.
double share_above_min(const runtime::Model& model, const data::MnistDataset& test) {
  runtime::Model first;
  first.input = model.input;
  first.add(model.ops[0].op());
  const int64_t n = std::min<int64_t>(200, test.size());
  const std::vector<uint8_t> pixels(test.image(0), test.image(0) + n * test.pixels_per_image());
  const runtime::IntTensor out = runtime::run(first, runtime::quantize_pixels(first, pixels));
  const int32_t lowest = std::get<runtime::Conv2d>(model.ops[0].op()).output_stage.clamp_min;
  int64_t above = 0;
  for (int32_t q : out.data)
    above += q > lowest;
  return double(above) / double(out.numel());
}

void real_runs(const config::ModelConfig& config, const data::MnistDataset& float_train,
               const data::MnistDataset& qat_train, const data::MnistDataset& test) {
  std::printf("== 4. Real runs (%s) ==\n", config.name.c_str());
  std::printf("data: float training on %lld images, QAT on %lld (one epoch), test on %lld\n",
              (long long)float_train.size(), (long long)qat_train.size(), (long long)test.size());
  Generator gen(config.train.seed);
  const auto float_model = config::build_model(config, gen);
  const auto optimizer = app::make_optimizer(config.train, float_model->parameters(), config.train.lr);
  const data::DataLoader loader(float_train, {.batch_size = 64, .shuffle = true, .seed = config.train.seed});
  app::TrainingProgress progress;
  app::train_epoch(*float_model, *optimizer, loader, progress, {.progress_bar = false, .quiet = true});
  std::printf("float model, one epoch: %s\n\n",
              percent(app::evaluate(*float_model, test, 1000).accuracy).c_str());

  using Q = app::QuantMethod;
  const auto bits_method = [](int bits, const char* method) {
    return [=](config::ModelConfig& c) {
      c.quant.bits = bits;
      c.quant.method = method;
    };
  };
  std::printf("2 bits (weights and activations), integer-model accuracy:\n");
  const Result ptq = quantize(config, *float_model, Q::Ptq, bits_method(2, "ema"), qat_train, test);
  const Result tutorial = quantize(config, *float_model, Q::Qat, bits_method(2, "tutorial"), qat_train, test);
  const Result lsq = quantize(config, *float_model, Q::Qat, bits_method(2, "lsq"), qat_train, test);
  const Result unfrozen = quantize(
      config, *float_model, Q::Qat,
      [&](config::ModelConfig& c) {
        bits_method(2, "lsq")(c);
        c.quant.freeze_bn_epoch = config::QuantConfig::kNever;
      },
      qat_train, test);
  const Result no_warmup = quantize(
      config, *float_model, Q::Qat,
      [&](config::ModelConfig& c) {
        bits_method(2, "lsq")(c);
        c.quant.warmup_epochs = 0.0;
      },
      qat_train, test);
  std::printf("  PTQ (ema observers)                 %s\n", percent(ptq.accuracy).c_str());
  std::printf("  QAT tutorial                        %s\n", percent(tutorial.accuracy).c_str());
  std::printf("  QAT lsq (its recipe)                %s\n", percent(lsq.accuracy).c_str());
  std::printf("  QAT lsq, BatchNorm not frozen       %s\n", percent(unfrozen.accuracy).c_str());
  std::printf("  QAT lsq, no warm-up                 %s\n\n", percent(no_warmup.accuracy).c_str());
  check(lsq.accuracy > ptq.accuracy, "2 bits: lsq beats PTQ");

  std::printf("1 bit:\n");
  {
    // The tutorial quantizes a conv output before its ReLU (no BatchNorm: mnist_cnn). An observed range with
    // more negative than positive extent puts the zero point on the top code, and the ReLU's clamp [Z, qmax]
    // then leaves one code. The range here is illustrative: any min < -max gives the same.
    float scale = 0;
    int32_t zero = 0;
    quant::compute_scale_zero_point(-3.1f, 2.4f, {.bits = 1, .is_signed = false}, scale, zero);
    std::printf(
        "  a 1-bit grid over [-3.1, 2.4]: S = %.2f, Z = round(1 - 2.4/S) = %d, so a ReLU after it clamps "
        "to [%d, 1]\n",
        double(scale), zero, zero);
    check(zero == 1, "a 1-bit grid whose range is more negative than positive has Z = 1");
  }
  const Result tut1 = quantize(config, *float_model, Q::Qat, bits_method(1, "tutorial"), qat_train, test);
  const Result bin1 = quantize(config, *float_model, Q::Qat, bits_method(1, "binary"), qat_train, test);
  if (tut1.accuracy >= 0) {
    const auto& conv = std::get<runtime::Conv2d>(tut1.model.ops[0].op());
    const runtime::OutputStage& st = conv.output_stage;
    std::map<int64_t, int64_t> classes;
    for (int64_t p : tut1.predictions)
      ++classes[p];
    std::printf(
        "  QAT tutorial: %s; first conv output: S3 = %.4f, Z3 = %d, codes %d..%d, clamp [%d, %d], "
        "%.3f %% of its outputs above code %d; the test images fall in %zu class(es)\n",
        percent(tut1.accuracy).c_str(), st.output.scale, st.output.zero_point, st.output.qmin(),
        st.output.qmax(), st.clamp_min, st.clamp_max, 100.0 * share_above_min(tut1.model, test), st.clamp_min,
        classes.size());
    if (st.clamp_min == st.clamp_max) {
      check(classes.size() == 1, "a first conv with one output code gives every image the same class");
    }
  }
  if (bin1.accuracy >= 0) {
    const auto& conv = std::get<runtime::Conv2d>(bin1.model.ops[0].op());
    std::printf(
        "  QAT binary:   %s; first conv weights %d-bit %s, output S3 = %.4f, codes %d..%d, %.3f %% of its "
        "outputs above code %d\n",
        percent(bin1.accuracy).c_str(), conv.weight.bits,
        conv.weight.is_signed && conv.weight.bits == 1 ? "binary (+-alpha)" : "",
        conv.output_stage.output.scale, conv.output_stage.clamp_min, conv.output_stage.clamp_max,
        100.0 * share_above_min(bin1.model, test), conv.output_stage.clamp_min);
  }
  check(bin1.accuracy > 0.5, "binary at 1 bit learns");
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_tool("08_low_bit", [&] {
    app::Flags flags(
        "08_low_bit", "Chapter 8: LSQ, the recipes, binary weights, 2-bit and 1-bit runs.",
        {{"test", "", "small synthetic data; check every claim (exit 1 if one fails)"},
         {"data", "DIR", "MNIST directory (default data/mnist)"},
         {"part", "N", "only part N (1: LSQ, 2: recipes, 3: binary weights, 4: the MNIST runs)"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    const bool test = flags.has("test");
    app::set_threads(1);

    const int64_t part = flags.has("part") ? flags.get_int("part", 1, 4) : 0;  // 0: all
    if (part == 0 || part == 1) lsq_in_numbers();
    if (part == 0 || part == 2) recipes();
    if (part == 0 || part == 3) binary_weights();
    const bool mnist_part = part == 0 || part == 4;
    if (mnist_part && test) {
      const config::ModelConfig config = config::parse_config_text(R"({
          "name": "small_net_bn", "input": {"shape": [1, 28, 28]},
          "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}, {"type": "batchnorm2d"},
                     {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 4}, {"type": "flatten"},
                     {"type": "linear", "out_features": 10}],
          "train": {"lr": 0.05, "test_batch_size": 250}, "quant": {"ptq_batches": 8}})",
                                                                   "08_low_bit --test");
      const data::MnistDataset train = data::synthetic_digits(4096, 1);
      real_runs(config, train, train, data::synthetic_digits(500, 2));
    } else if (mnist_part) {
      // NetBN (configs/mnist_cnn_bn.json) on subsets: 20 000 images for the float epoch, the first 12 000 of
      // them for each QAT epoch, 5000 test images.
      const std::string root = flags.optional("data").value_or(data::default_root(data::DatasetKind::kMnist));
      const data::MnistDataset train(data::DatasetKind::kMnist, data::Split::kTrain, root);
      const data::MnistDataset test_set(data::DatasetKind::kMnist, data::Split::kTest, root);
      config::ModelConfig config = config::load_config("configs/mnist_cnn_bn.json");
      config.quant.ptq_batches = 50;
      real_runs(config, train.head(20000), train.head(12000), test_set.head(5000));
    }
    if (course::failures() > 0)
      throw std::runtime_error(std::to_string(course::failures()) + " check(s) failed");
    if (test) std::printf("all checks passed\n");
    return 0;
  });
}
