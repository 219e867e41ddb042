// Chapter 5 (docs/tutorial/05-qat.md): quantization-aware training.
//
//   1. round() kills the gradient: the derivative of a quantized weight is 0 almost everywhere, shown with
//      finite differences; the straight-through estimator (STE) and its clipping mask, shown with autograd.
//   2. Where the fake-quant nodes go: the QAT model prepare_qat builds, with the tutorial's placement (output
//      quantized before the ReLU) and the fused one (after the ReLU).
//   3. A real run: one float model, then PTQ and QAT at 4 and 2 bits, three QAT methods (the observer's
//      effect) and two learning rates at 2 bits.
//
//   build/examples/05_qat            (needs MNIST in data/mnist: scripts/get-data; --data DIR elsewhere)
//   build/examples/05_qat --part 1   only part 1 (2: only part 2; neither needs MNIST)
//   build/examples/05_qat --test     small synthetic data, checks its own claims (what ctest runs)
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/flags.h"
#include "app/qat_recipe.h"
#include "app/quantize_job.h"
#include "app/training.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "check.h"
#include "config/builder.h"
#include "config/loader.h"
#include "datasets/data_loader.h"
#include "datasets/mnist.h"
#include "datasets/synthetic_digits.h"
#include "quant/fake_quantize.h"
#include "quant/qat_model.h"

namespace {

using namespace qg;

using course::check;

// ---- Part 1: the gradient of round ------------------------------------------------------------------------

// L(w) = sum_i c_i * fake_quantize(w)_i: a loss whose gradient through an identity would be exactly c.
float loss_of(const std::vector<float>& w, const std::vector<float>& c, const quant::QParams& qp) {
  const NoGradGuard no_grad;
  const std::vector<float> w_hat =
      quant::fake_quantize(Tensor::from_vector(w, {int64_t(w.size())}), qp).to_vector();
  float loss = 0;
  for (size_t i = 0; i < w.size(); ++i)
    loss += c[i] * w_hat[i];
  return loss;
}

// The gradient autograd computes for w through FakeQuantize with the given STE.
std::vector<float> ste_gradient(const std::vector<float>& w, const std::vector<float>& c,
                                const quant::QParams& qp, quant::Ste ste) {
  Tensor wt = Tensor::from_vector(w, {int64_t(w.size())}).set_requires_grad(true);
  const Tensor ct = Tensor::from_vector(c, {int64_t(c.size())});
  sum(quant::fake_quantize(wt, qp, ste) * ct).backward();
  return wt.grad().to_vector();
}

void print_row(const char* label, const std::vector<float>& values, const char* format = "%8.4f") {
  std::printf("  %-34s", label);
  for (float v : values)
    std::printf(format, double(v) + 0.0);  // + 0.0: print -0 as 0
  std::printf("\n");
}

void gradient_of_round() {
  std::printf("== 1. round() kills the gradient ==\n");
  // A 3-bit unsigned grid over [-1, 1] (the tutorial's asymmetric quantization): S = 2/7, Z = 4.
  const quant::QParams qp = quant::make_per_tensor(-1.0f, 1.0f, {.bits = 3, .is_signed = false});
  std::printf("grid: 3-bit unsigned over [-1, 1]: S = %.6f, Z = %d, codes %d..%d\n", double(qp.scale[0]),
              qp.zero_point[0], qp.spec.qmin(), qp.spec.qmax());
  const std::vector<float> w{0.12f, -0.37f, 0.81f, 1.30f, -1.45f};
  const std::vector<float> c{1.0f, -2.0f, 0.5f, 1.5f, -1.0f};  // dL/dw_hat: the upstream gradient
  const std::vector<float> codes = quant::quantize_codes(Tensor::from_vector(w, {5}), qp).to_vector();
  std::vector<float> w_hat;
  {
    const NoGradGuard no_grad;
    w_hat = quant::fake_quantize(Tensor::from_vector(w, {5}), qp).to_vector();
  }
  print_row("w", w);
  print_row("code q = clamp(round(w/S + Z))", codes, "%8.0f");
  print_row("w_hat = S (q - Z)", w_hat);
  print_row("dL/dw_hat (upstream gradient c)", c);

  // The true derivative: central differences (L(w + h) - L(w - h)) / 2h, one weight at a time.
  const float h = 1e-3f;
  std::vector<float> numeric(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    std::vector<float> plus = w, minus = w;
    plus[i] += h;
    minus[i] -= h;
    numeric[i] = (loss_of(plus, c, qp) - loss_of(minus, c, qp)) / (2 * h);
  }
  print_row("dL/dw, true (finite differences)", numeric);
  const std::vector<float> identity = ste_gradient(w, c, qp, quant::Ste::Identity);
  const std::vector<float> clipped = ste_gradient(w, c, qp, quant::Ste::Clipped);
  print_row("dL/dw, STE identity", identity);
  print_row("dL/dw, STE clipped", clipped);

  // "Almost everywhere": scan [-1.5, 1.5] and count where the true derivative is not zero.
  const int points = 30001;
  int nonzero = 0;
  for (int k = 0; k < points; ++k) {
    const float x = -1.5f + 3.0f * float(k) / float(points - 1);
    if (loss_of({x + h}, {1.0f}, qp) != loss_of({x - h}, {1.0f}, qp)) ++nonzero;
  }
  std::printf(
      "scan of %d weights in [-1.5, 1.5] with h = %.0e: the derivative is non-zero at %d of them "
      "(%.2f %%, all within h of one of the %d steps of the staircase)\n\n",
      points, double(h), nonzero, 100.0 * nonzero / points, qp.spec.qmax() - qp.spec.qmin());

  for (size_t i = 0; i < w.size(); ++i) {
    check(numeric[i] == 0.0f, "the finite-difference derivative of weight " + std::to_string(i) + " is 0");
    check(identity[i] == c[i],
          "the identity STE passes the upstream gradient of weight " + std::to_string(i));
    const float unclamped = std::nearbyint(w[i] / qp.scale[0] + float(qp.zero_point[0]));
    const bool inside = unclamped >= float(qp.spec.qmin()) && unclamped <= float(qp.spec.qmax());
    check(clipped[i] == (inside ? c[i] : 0.0f),
          "the clipped STE passes weight " + std::to_string(i) + "'s gradient only inside the range");
  }
  // Each of the 7 steps is hit by the 2h-wide window around it: about 7 * 2h / (3 / 30000) points.
  check(nonzero > 0 && nonzero < points / 100, "the derivative is non-zero on fewer than 1 % of the scan");
}

// ---- Part 2: where the fake-quant nodes are -----------------------------------------------------------------

std::string describe_points(quant::QatLayer& layer) {
  std::string text;
  for (const auto& [name, point] : layer.quant_points()) {
    text += (text.empty() ? "" : ", ") + name + " (" + point->kind() + ")";
  }
  return text.empty() ? "none: codes in, codes out" : text;
}

void placement(const config::ModelConfig& config) {
  std::printf("== 2. Where the fake-quant nodes go ==\n");
  for (const char* method : {"tutorial", "lsq"}) {
    config::ModelConfig c = config;
    c.quant.method = method;
    Generator gen(1);
    const auto float_model = config::build_model(c, gen);
    const auto qat = quant::prepare_qat(*float_model, app::layer_settings(c));
    std::printf("method %s:\n", method);
    for (size_t i = 0; i < qat->layers().size(); ++i) {
      quant::QatLayer& layer = *qat->layers()[i];
      std::printf("  %zu %-12s fake-quant: %s\n", i, layer.type_name().c_str(),
                  describe_points(layer).c_str());
    }
    const std::string first = qat->layers()[0]->type_name();
    if (std::string(method) == "tutorial") {
      check(first == "QConv2d" && qat->layers()[1]->type_name() == "QReLU",
            "tutorial: the conv output is quantized before a separate ReLU");
    } else {
      check(first == "QConvReLU2d", "lsq: the ReLU is fused before the output quantizer");
    }
    check(qat->layers()[0]->quant_points().size() == 3, "the first conv has input, weight and output points");
  }
  std::printf("\n");
}

// ---- Part 3: a real run ------------------------------------------------------------------------------------------

// A fresh model of `config` holding a copy of `source`'s weights (QAT trains the model it is given).
std::shared_ptr<nn::Graph> copy_of(const config::ModelConfig& config, const nn::Graph& source) {
  Generator unused(0);
  auto copy = config::build_model(config, unused);
  const nn::NamedTensors from = source.state();
  nn::NamedTensors to = copy->state();
  for (size_t i = 0; i < to.size(); ++i)
    to[i].second.copy_from(from[i].second);
  return copy;
}

struct Run {
  std::string label;
  double accuracy = 0.0;  // the integer model's, or -1 when training diverged
  double agreement = 0.0;
};

Run quantize(const config::ModelConfig& base, const nn::Graph& float_model, app::QuantMethod method, int bits,
             const std::string& qat_method, double lr, const data::MnistDataset& train,
             const data::MnistDataset& test) {
  config::ModelConfig c = base;
  c.quant.bits = bits;
  c.quant.method = qat_method;
  if (lr > 0) c.quant.qat_lr = lr;
  c = config::revalidate(c);
  const auto model = copy_of(c, float_model);
  Run run;
  try {
    const app::QuantOutcome o = app::quantize_model(c, *model, method, train, test, 0.0, /*quiet=*/true);
    run.accuracy = o.integer.accuracy;
    run.agreement = o.agreement;
  } catch (const std::exception& e) {  // TrainingDiverged, QuantizationDiverged: the run is lost
    std::fprintf(stderr, "%s %d-bit: %s\n", qat_method.c_str(), bits, e.what());
    run.accuracy = -1.0;
  }
  return run;
}

std::string percent(double accuracy) {
  char text[32];
  if (accuracy < 0) return "diverged";
  std::snprintf(text, sizeof text, "%.2f %%", 100.0 * accuracy);
  return text;
}

void real_run(const config::ModelConfig& config, const data::MnistDataset& float_train,
              const data::MnistDataset& qat_train, const data::MnistDataset& test) {
  std::printf("== 3. PTQ and QAT on one float model ==\n");
  std::printf(
      "data: float training on %lld images, QAT on %lld (one epoch), calibration on %lld batches, "
      "test on %lld\n",
      (long long)float_train.size(), (long long)qat_train.size(), (long long)config.quant.ptq_batches,
      (long long)test.size());
  Generator gen(config.train.seed);
  const auto float_model = config::build_model(config, gen);
  const auto optimizer = app::make_optimizer(config.train, float_model->parameters(), config.train.lr);
  const data::DataLoader loader(float_train, {.batch_size = 64, .shuffle = true, .seed = config.train.seed});
  app::TrainingProgress progress;
  app::train_epoch(*float_model, *optimizer, loader, progress, {.progress_bar = false, .quiet = true});
  const double float_accuracy = app::evaluate(*float_model, test, 1000).accuracy;
  std::printf("float model (%s, 1 epoch): %s\n\n", config.name.c_str(), percent(float_accuracy).c_str());

  // QAT vs PTQ, and the three ways of finding the grids, at 4 and 2 bits.
  std::printf("integer-model accuracy; QAT: one epoch at each method's learning rate\n");
  std::printf("  bits  PTQ        QAT tutorial  QAT ema    QAT lsq\n");
  std::vector<Run> runs;
  for (int bits : {4, 2}) {
    const Run ptq = quantize(config, *float_model, app::QuantMethod::Ptq, bits, "ema", 0, qat_train, test);
    const Run tut =
        quantize(config, *float_model, app::QuantMethod::Qat, bits, "tutorial", 0, qat_train, test);
    const Run ema = quantize(config, *float_model, app::QuantMethod::Qat, bits, "ema", 0, qat_train, test);
    const Run lsq = quantize(config, *float_model, app::QuantMethod::Qat, bits, "lsq", 0, qat_train, test);
    std::printf("  %d     %-10s %-13s %-10s %s\n", bits, percent(ptq.accuracy).c_str(),
                percent(tut.accuracy).c_str(), percent(ema.accuracy).c_str(), percent(lsq.accuracy).c_str());
    runs.insert(runs.end(), {ptq, tut, ema, lsq});
    if (bits == 2) check(lsq.accuracy > ptq.accuracy, "2 bits: QAT (lsq) beats PTQ");
  }

  // The learning rate at 2 bits: a tenth of each method's default.
  std::printf("\n2 bits, learning rate: the method's default vs a tenth of it\n");
  for (const char* method : {"tutorial", "lsq"}) {
    config::ModelConfig c = config;
    c.quant.method = method;
    const double lr = config::resolve_quant(c.quant).qat_lr;
    const Run high = quantize(config, *float_model, app::QuantMethod::Qat, 2, method, lr, qat_train, test);
    const Run low =
        quantize(config, *float_model, app::QuantMethod::Qat, 2, method, lr / 10, qat_train, test);
    std::printf("  %-8s lr %-6g %-10s lr %-6g %s\n", method, lr, percent(high.accuracy).c_str(), lr / 10,
                percent(low.accuracy).c_str());
    runs.insert(runs.end(), {high, low});
  }
  for (const Run& run : runs) {
    if (run.accuracy >= 0) check(run.agreement == 1.0, "the integer model agrees with its fake-quant model");
  }
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_tool("05_qat", [&] {
    app::Flags flags("05_qat", "Chapter 5: the STE, fake-quant placement, QAT against PTQ.",
                     {{"test", "", "small synthetic data; check every claim (exit 1 if one fails)"},
                      {"data", "DIR", "MNIST directory (default data/mnist)"},
                      {"config", "FILE", "model config (default configs/mnist_cnn.json)"},
                      {"part", "N", "only part N (1: round and the STE, 2: placement, 3: the MNIST runs)"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    const bool test = flags.has("test");
    app::set_threads(1);  // one thread: the numbers are then the same on every run

    // The tutorial's Net; --test uses a small copy of it so that the whole program takes seconds.
    config::ModelConfig config =
        test ? config::parse_config_text(R"({
        "name": "small_net", "input": {"shape": [1, 28, 28]},
        "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}, {"type": "relu"},
                   {"type": "maxpool2d", "kernel_size": 4}, {"type": "flatten"},
                   {"type": "linear", "out_features": 10}],
        "train": {"lr": 0.05, "test_batch_size": 250}, "quant": {"ptq_batches": 8}})",
                                         "05_qat --test")
             : config::load_config(flags.optional("config").value_or("configs/mnist_cnn.json"));

    const int64_t part = flags.has("part") ? flags.get_int("part", 1, 3) : 0;  // 0: all
    if (part == 0 || part == 1) gradient_of_round();
    if (part == 0 || part == 2) placement(config);
    const bool mnist_part = part == 0 || part == 3;
    if (mnist_part && test) {
      const data::MnistDataset train = data::synthetic_digits(4096, 1),
                               test_set = data::synthetic_digits(500, 2);
      real_run(config, train, train, test_set);
    } else if (mnist_part) {
      // Subsets keep the run near a minute on one core: 12 000 images train the float model, the first
      // 6000 of them are the QAT epoch, PTQ calibrates on 50 batches, and 2000 test images evaluate.
      const std::string root = flags.optional("data").value_or(data::default_root(data::DatasetKind::kMnist));
      const data::MnistDataset train(data::DatasetKind::kMnist, data::Split::kTrain, root);
      const data::MnistDataset test_set(data::DatasetKind::kMnist, data::Split::kTest, root);
      config.quant.ptq_batches = 50;
      real_run(config, train, train.head(12000), test_set.head(5000));
    }
    if (course::failures() > 0)
      throw std::runtime_error(std::to_string(course::failures()) + " check(s) failed");
    if (test) std::printf("all checks passed\n");
    return 0;
  });
}
