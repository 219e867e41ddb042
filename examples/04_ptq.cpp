// Chapter 4 of the course (docs/tutorial/04-ptq.md): post-training quantization. Scale and zero point worked
// in numbers, observers, calibration of a trained network, and what is lost at low bit widths.
//
//   build/examples/04_ptq          trains chapter 3's network for one epoch on MNIST (data/mnist, or
//                                  --data DIR), then calibrates and evaluates it at 8 down to 2 bits
//   build/examples/04_ptq --part N only part N: 1 scale and zero point, 2 observers (these two need no
//                                  data), 3 calibration and accuracy against bit width
//   build/examples/04_ptq --test   the same on a small synthetic digit set made in memory; exits non-zero if
//                                  a claim of the chapter does not hold
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"  // NoGradGuard
#include "autograd/ops.h"        // argmax
#include "check.h"
#include "core/random.h"
#include "core/tensor.h"
#include "datasets/data_loader.h"
#include "datasets/mnist.h"
#include "datasets/synthetic_digits.h"
#include "nn/functional/loss.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "quant/fake_quantize.h"  // fake_quantize, quantize_codes
#include "quant/observer.h"       // make_observer
#include "quant/qat_model.h"      // prepare_qat, QatModel
#include "quant/qparams.h"        // QuantSpec, QParams, compute_scale_zero_point

using qg::Tensor;
namespace quant = qg::quant;

namespace {

struct Options {
  bool test = false;
  int part = 0;  // 0: all; 1 scale and zero point, 2 observers, 3 calibration and bit widths (needs data)
  std::string data_dir = "data/mnist";
};

using course::check;

// ---- 1. Scale and zero point, by hand and by the library -------------------------------------------------
//
//   r = S (q − Z)                                   (Jacob et al. 2018, eq. 1)
//   S = (max − min) / (qmax − qmin)                 after widening [min, max] to include 0
//   Z = round(qmax − max / S), clamped to [qmin, qmax]
//   q = clamp(round(r / S + Z), qmin, qmax),   r̂ = S (q − Z)
void scale_and_zero_point() {
  std::printf("== 1. Scale and zero point of one tensor\n");
  const std::vector<float> values{-1.0f, -0.4f, 0.0f, 0.29f, 1.13f, 2.0f};
  const Tensor x = Tensor::from_vector(values, {6});
  const float min = -1.0f, max = 2.0f;  // the range of x
  for (int bits : {8, 4, 2}) {
    const quant::QuantSpec spec{.bits = bits};  // unsigned, asymmetric: codes 0 .. 2^bits − 1
    const double qmin = spec.qmin(), qmax = spec.qmax();
    const double S = (max - min) / (qmax - qmin);
    const double Z = std::clamp(std::nearbyint(qmax - max / S), qmin, qmax);
    const quant::QParams qp = quant::make_per_tensor(min, max, spec);  // the library's computation
    std::printf(
        "\n%d bits: codes [%g, %g], S = (%g - (%g)) / %g = %.6f, Z = round(%g - %g / S) = %g"
        "   library: S = %.6f, Z = %d\n",
        bits, qmin, qmax, max, min, qmax - qmin, S, qmax, max, Z, qp.scale[0], qp.zero_point[0]);
    check(std::abs(qp.scale[0] - S) < 1e-7 && qp.zero_point[0] == Z, "hand S, Z equal the library's");

    const Tensor codes = quant::quantize_codes(x, qp);
    const Tensor x_hat = quant::fake_quantize(x, qp);
    std::printf("%8s %10s %6s %10s %10s\n", "r", "r/S + Z", "q", "S(q - Z)", "error");
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double r = values[i];
      const double q = std::clamp(std::nearbyint(r / S + Z), qmin, qmax);  // half to even, as torch.round
      const double r_hat = S * (q - Z);
      std::printf("%8g %10.4f %6g %10.4f %10.4f\n", r, r / S + Z, q, r_hat, r_hat - r);
      check(codes.at({i}) == q && std::abs(x_hat.at({i}) - r_hat) < 1e-6,
            "quantize_codes and fake_quantize compute the formula");
      check(std::abs(r_hat - r) <= S / 2 + 1e-6, "inside the range the error is at most S/2");
    }
  }
  // Real zero is always a code: a range that does not contain 0 is widened first.
  const quant::QParams positive = quant::make_per_tensor(0.5f, 2.0f, {.bits = 8});
  std::printf("\nrange [0.5, 2] at 8 bits is widened to [0, 2]: S = %.6f, Z = %d, and 0 -> code %g -> %g\n",
              positive.scale[0], positive.zero_point[0],
              quant::quantize_codes(Tensor::zeros({1}), positive).item(),
              quant::fake_quantize(Tensor::zeros({1}), positive).item());
  check(positive.zero_point[0] == 0 && quant::fake_quantize(Tensor::zeros({1}), positive).item() == 0.0f,
        "0 is exactly representable");
}

// ---- 2. Observers: where min and max come from ------------------------------------------------------------
void observers() {
  std::printf("== 2. Observers: min-max vs moving average (momentum 0.1), 4 bits\n");
  const quant::QuantSpec spec{.bits = 4};
  auto minmax = quant::make_observer({.kind = quant::ObserverKind::MinMax, .spec = spec});
  auto ema = quant::make_observer(
      {.kind = quant::ObserverKind::MovingAverageMinMax, .spec = spec, .momentum = 0.1f});
  qg::Generator gen(3);
  std::printf("%5s %16s %18s %18s\n", "batch", "batch range", "minmax range", "moving avg range");
  for (int batch = 1; batch <= 8; ++batch) {
    // Activations after a ReLU: values in [0, ~3]; batch 3 holds one outlier, 12.
    Tensor activations = Tensor::uniform({256}, 0.0f, 3.0f, gen);
    if (batch == 3) activations.data()[17] = 12.0f;
    minmax->observe(activations);
    ema->observe(activations);
    const std::vector<float> v = activations.to_vector();
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::printf("%5d   [%5.2f, %5.2f]   [%5.2f, %6.2f]   [%5.2f, %6.2f]\n", batch, *lo, *hi,
                minmax->range().first, minmax->range().second, ema->range().first, ema->range().second);
  }
  const quant::QParams a = minmax->qparams(), b = ema->qparams();
  std::printf("4-bit grids: minmax S = %.4f, Z = %d;  moving average S = %.4f, Z = %d\n", a.scale[0],
              a.zero_point[0], b.scale[0], b.zero_point[0]);
  // How many of the 16 codes the typical activations in [0, 3] can reach under each grid.
  std::printf("codes used by values in [0, 3]: minmax %d, moving average %d (of 16)\n",
              static_cast<int>(std::nearbyint(3.0f / a.scale[0])) + 1,
              static_cast<int>(std::min(15.0f, std::nearbyint(3.0f / b.scale[0]))) + 1);
  check(minmax->range().second == 12.0f, "min-max keeps the outlier for ever");
  check(ema->range().second < 6.0f, "the moving average forgets it");
  check(b.scale[0] < a.scale[0] / 2, "so its grid is more than twice as fine");
}

// ---- 3 and 4: calibrate a trained network at each bit width ------------------------------------------------

// Chapter 3's network, 784 -> 100 -> ReLU -> 10, trained with SGD.
std::shared_ptr<qg::nn::Sequential> train_float_model(const qg::data::MnistDataset& train_set,
                                                      int64_t epochs) {
  qg::manual_seed(7);  // nn::Linear draws its initial weights from the default generator
  auto model = std::make_shared<qg::nn::Sequential>();
  model->add(std::make_shared<qg::nn::Flatten>());
  model->add(std::make_shared<qg::nn::Linear>(784, 100));
  model->add(std::make_shared<qg::nn::ReLU>());
  model->add(std::make_shared<qg::nn::Linear>(100, 10));
  qg::nn::Sgd sgd(model->parameters(), {.lr = 0.1});
  const qg::data::DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 1});
  model->train();
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    for (const qg::data::Batch& batch : loader.epoch(epoch)) {
      sgd.zero_grad();
      qg::nn::functional::cross_entropy((*model)(batch.images), batch.labels).backward();
      sgd.step();
    }
  }
  return model;
}

// Mean |quantized logit − float logit| over the first 1000 test images: the quantization error at the output.
double logit_error(qg::nn::Module& float_model, qg::nn::Module& quantized,
                   const qg::data::MnistDataset& test_set) {
  qg::NoGradGuard no_grad;
  float_model.eval();
  quantized.eval();
  const qg::data::Batch batch = qg::data::make_batch(test_set, 0, std::min<int64_t>(1000, test_set.size()));
  const std::vector<float> a = float_model(batch.images).to_vector(), b = quantized(batch.images).to_vector();
  double total = 0;
  for (size_t i = 0; i < a.size(); ++i)
    total += std::abs(a[i] - b[i]);
  return total / static_cast<double>(a.size());
}

double accuracy(qg::nn::Module& model, const qg::data::MnistDataset& test_set) {
  qg::NoGradGuard no_grad;
  model.eval();
  int64_t correct = 0;
  const qg::data::DataLoader loader(test_set, {.batch_size = 1000});
  for (const qg::data::Batch& batch : loader.epoch(0)) {
    const Tensor predicted = qg::argmax(model(batch.images), 1);
    for (int64_t i = 0; i < batch.size(); ++i)
      correct += static_cast<int64_t>(predicted.at({i})) == batch.labels[i];
  }
  return 100.0 * correct / test_set.size();
}

// PTQ (the tutorial's direct_quantize): wrap the float model in fake-quant layers, let the observers watch
// `batches` training batches in eval mode, then freeze the grids.
std::shared_ptr<quant::QatModel> calibrate(const qg::nn::Sequential& float_model,
                                           const quant::QuantSettings& settings,
                                           const qg::data::MnistDataset& train_set, int64_t batches) {
  std::shared_ptr<quant::QatModel> qat = quant::prepare_qat(float_model, settings);
  qat->eval();               // no dropout, BatchNorm would use its running statistics
  qat->set_observing(true);  // observers record the ranges of what flows through
  qg::NoGradGuard no_grad;   // nothing is trained
  const qg::data::DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 2});
  int64_t seen = 0;
  for (const qg::data::Batch& batch : loader.epoch(0)) {
    (*qat)(batch.images);
    if (++seen == batches) break;
  }
  qat->freeze();  // fixes every S and Z
  return qat;
}

quant::QuantSettings ptq_settings(int bits, quant::ObserverKind activation_observer) {
  quant::QuantSettings settings;  // the tutorial's: unsigned asymmetric per-tensor grids, min-max observers
  settings.activation.bits = bits;
  settings.weight.bits = bits;
  settings.activation_observer = activation_observer;
  return settings;
}

void print_grids(quant::QatModel& qat) {
  for (size_t i = 0; i < qat.layers().size(); ++i) {
    for (const auto& [name, point] : qat.layers()[i]->quant_points()) {
      const quant::QParams qp = point->qparams();
      std::printf("  layer %zu (%s) %-7s S = %.6f  Z = %3d   range [%.4f, %.4f]\n", i,
                  qat.layers()[i]->type_name().c_str(), name.c_str(), qp.scale[0], qp.zero_point[0],
                  qp.scale[0] * (qp.spec.qmin() - qp.zero_point[0]),
                  qp.scale[0] * (qp.spec.qmax() - qp.zero_point[0]));
    }
  }
}

int run(const Options& options) {
  if (options.part == 0 || options.part == 1) scale_and_zero_point();
  if (options.part == 0 || options.part == 2) observers();
  if (options.part == 1 || options.part == 2) return course::failures() ? 1 : 0;

  using namespace qg::data;
  const MnistDataset train_set = options.test
                                     ? synthetic_digits(512, 1)
                                     : MnistDataset(DatasetKind::kMnist, Split::kTrain, options.data_dir);
  const MnistDataset test_set = options.test
                                    ? synthetic_digits(256, 2)
                                    : MnistDataset(DatasetKind::kMnist, Split::kTest, options.data_dir);
  const int64_t calibration_batches = options.test ? 4 : 100;
  const auto start = std::chrono::steady_clock::now();
  std::printf("== 3. Calibrating a trained network\n");
  const auto float_model = train_float_model(train_set, options.test ? 3 : 1);
  const double float_accuracy = accuracy(*float_model, test_set);
  std::printf("float model (%s, %lld training images, 784-100-10): test accuracy %.2f%%\n",
              train_set.name().c_str(), static_cast<long long>(train_set.size()), float_accuracy);
  const auto qat8 =
      calibrate(*float_model, ptq_settings(8, quant::ObserverKind::MinMax), train_set, calibration_batches);
  std::printf("after %lld calibration batches of 64 at 8 bits, the grids are:\n",
              static_cast<long long>(calibration_batches));
  print_grids(*qat8);

  std::printf("\n== 4. What is lost at low bit widths (weights and activations at the same width)\n");
  std::printf("%5s %18s %16s %26s\n", "bits", "minmax observers", "|logit error|",
              "moving-average activations");
  std::vector<double> minmax_accuracy, errors;
  for (int bits = 8; bits >= 2; --bits) {
    const auto minmax = calibrate(*float_model, ptq_settings(bits, quant::ObserverKind::MinMax), train_set,
                                  calibration_batches);
    const auto moving = calibrate(*float_model, ptq_settings(bits, quant::ObserverKind::MovingAverageMinMax),
                                  train_set, calibration_batches);
    minmax_accuracy.push_back(accuracy(*minmax, test_set));
    errors.push_back(logit_error(*float_model, *minmax, test_set));
    std::printf("%5d %17.2f%% %16.4f %25.2f%%\n", bits, minmax_accuracy.back(), errors.back(),
                accuracy(*moving, test_set));
  }
  std::printf("%5s %17.2f%%\n", "float", float_accuracy);
  std::fprintf(stderr, "04_ptq: %.1f s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  check(float_accuracy > 90.0, "the float model learned");
  check(minmax_accuracy.front() > float_accuracy - 1.0, "8-bit PTQ loses less than a point");
  for (size_t i = 1; i < errors.size(); ++i)
    check(errors[i] > errors[i - 1], "every bit less makes the output error larger");
  // The synthetic digits of --test are too easy to lose accuracy on; MNIST is not.
  if (!options.test)
    check(minmax_accuracy.back() < minmax_accuracy.front() - 5.0, "2-bit PTQ loses accuracy");
  return course::failures() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--test") {
      options.test = true;
    } else if (arg == "--data" && i + 1 < argc) {
      options.data_dir = argv[++i];
    } else if (arg == "--part" && i + 1 < argc) {
      options.part = (std::string(argv[++i]).size() == 1 ? argv[i][0] - '0' : -1);
    } else {
      std::fprintf(stderr, "04_ptq: unknown argument '%s' (expected: --test, --data DIR, --part 1..3)\n",
                   argv[i]);
      return 2;
    }
  }
  if (options.part < 0 || options.part > 3) {
    std::fprintf(stderr, "04_ptq: --part must be 1..3\n");
    return 2;
  }
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "04_ptq: %s\n", error.what());
    return 1;
  }
}
