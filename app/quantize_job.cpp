#include "app/quantize_job.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/report.h"
#include "app/train_job.h"
#include "autograd/grad_mode.h"
#include "config/builder.h"
#include "config/loader.h"
#include "config/summary.h"
#include "quant/convert.h"
#include "runtime/model_file.h"
#include "runtime/run.h"

namespace qg::app {

quant::QuantSettings quant_settings(const config::QuantConfig& q) {
  quant::QuantSettings s;
  s.activation = {static_cast<int>(q.bits), q.is_signed, q.symmetric};
  s.weight = s.activation;
  s.activation_observer = quant::parse_observer_kind(q.observer);
  s.per_channel_weights = q.per_channel;
  s.observer_momentum = static_cast<float>(q.observer_momentum);
  s.percentile = q.percentile;
  s.ste = q.ste == "clipped" ? quant::Ste::Clipped : quant::Ste::Identity;
  return s;
}

IntegerEval evaluate_integer(const runtime::Model& model, const data::MnistDataset& dataset, int64_t batch_size,
                             int threads, runtime::RequantMode mode) {
  IntegerEval eval;
  int64_t correct = 0;
  const auto start = std::chrono::steady_clock::now();
  const int64_t pixels = dataset.pixels_per_image();
  for (int64_t begin = 0; begin < dataset.size(); begin += batch_size) {
    const int64_t n = std::min(batch_size, dataset.size() - begin);
    const std::span<const uint8_t> batch(dataset.image(begin), static_cast<size_t>(n * pixels));
    const runtime::IntTensor logits = runtime::run(model, runtime::quantize_pixels(model, batch), {.mode = mode, .threads = threads});
    const std::vector<int64_t> predicted = runtime::predict(logits);
    for (int64_t i = 0; i < n; ++i) correct += predicted[i] == dataset.label(begin + i);
    eval.predictions.insert(eval.predictions.end(), predicted.begin(), predicted.end());
  }
  eval.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  eval.accuracy = dataset.size() ? static_cast<double>(correct) / dataset.size() : 0.0;
  eval.images_per_second = eval.seconds > 0 ? dataset.size() / eval.seconds : 0.0;
  return eval;
}

namespace {

const char* method_name(QuantMethod m) { return m == QuantMethod::Qat ? "qat" : "ptq"; }

// PTQ calibration, the tutorial's direct_quantize(): eval mode (BN uses running statistics), observers on,
// `batches` training batches through the fake-quant model.
double calibrate(quant::QatModel& model, const data::DataLoader& loader, int64_t batches, int64_t& images) {
  model.eval();
  model.set_observing(true);
  NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  int64_t seen = 0;
  for (const data::Batch& batch : loader.epoch(0)) {
    model(batch.images);
    images += batch.size();
    if (++seen >= batches) break;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double agreement(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return static_cast<double>(same) / a.size();
}

}  // namespace

QuantOutcome quantize_model(const config::ModelConfig& config, nn::Sequential& float_model, QuantMethod method,
                            const data::MnistDataset& train_set, const data::MnistDataset& test_set,
                            double float_accuracy, bool quiet) {
  QuantOutcome outcome;
  outcome.bits = static_cast<int>(config.quant.bits);
  outcome.method = method;
  outcome.float_accuracy = float_accuracy;
  auto qat = quant::prepare_qat(float_model, quant_settings(config.quant));
  const data::DataLoader loader(train_set, {.batch_size = config.train.batch_size,
                                            .shuffle = true,
                                            .seed = config.train.seed + 7919,  // not the float run's order
                                            .drop_last = false,
                                            .prefetch = true});
  int64_t images = 0;
  if (method == QuantMethod::Ptq) {
    outcome.train_seconds = calibrate(*qat, loader, config.quant.ptq_batches, images);
    if (!quiet) std::printf("Calibrated on %lld images in %.1f s\n", static_cast<long long>(images), outcome.train_seconds);
  } else {
    auto optimizer = make_optimizer({.optimizer = "sgd", .momentum = config.quant.qat_momentum}, qat->parameters(),
                                    config.quant.qat_lr);
    qat->set_observing(true);
    for (int64_t epoch = 1; epoch <= config.quant.qat_epochs; ++epoch) {
      const EpochStats stats =
          train_epoch(*qat, *optimizer, loader, epoch, {.title = "Quantize Aware Training Epoch", .quiet = quiet});
      outcome.train_seconds += stats.seconds;
      images += stats.images;
    }
  }
  outcome.images_per_second = outcome.train_seconds > 0 ? images / outcome.train_seconds : 0.0;

  qat->freeze();
  const EvalStats fake = evaluate(*qat, test_set, config.train.test_batch_size);
  outcome.fake_quant_accuracy = fake.accuracy;

  const data::Normalization norm = test_set.normalization();
  outcome.model = quant::convert(*qat, {.input_shape = config.input_shape,
                                        .input_mean = norm.mean,
                                        .input_std = norm.std,
                                        .metadata = {{"config", config.name},
                                                     {"method", method_name(method)},
                                                     {"bits", outcome.bits},
                                                     {"dataset", config.data.dataset}}});
  outcome.integer = evaluate_integer(outcome.model, test_set, config.train.test_batch_size, 1);
  outcome.agreement = agreement(outcome.integer.predictions, fake.predictions);
  outcome.model.metadata["test_accuracy"] = outcome.integer.accuracy;
  return outcome;
}

FloatModel obtain_float_model(const config::ModelConfig& config, const std::optional<std::string>& from,
                              const data::MnistDataset& train_set, const data::MnistDataset& test_set, bool quiet) {
  FloatModel f;
  Generator gen(config.train.seed);
  f.model = config::build_model(config, gen);
  if (from) {
    load_training_checkpoint(*from, *f.model, config.name);
    f.checkpoint = *from;
  } else {
    std::filesystem::create_directories("runs");
    f.checkpoint = "runs/" + config.name + ".ckpt";
    std::printf("No --from checkpoint: training the float model first (%lld epochs)\n",
                static_cast<long long>(config.train.epochs));
    auto optimizer = make_optimizer(config.train, f.model->parameters(), config.train.lr);
    train_float(config, *f.model, *optimizer, train_set, test_set, 1, f.checkpoint, quiet);
  }
  f.test = evaluate(*f.model, test_set, config.train.test_batch_size);
  return f;
}

config::ModelConfig apply_quant_overrides(config::ModelConfig c, const QuantJob& job) {
  if (job.bits) c.quant.bits = *job.bits;
  if (job.qat_epochs) c.quant.qat_epochs = *job.qat_epochs;
  if (job.ptq_batches) c.quant.ptq_batches = *job.ptq_batches;
  if (job.qat_lr) c.quant.qat_lr = *job.qat_lr;
  if (job.observer) c.quant.observer = *job.observer;
  if (job.ste) c.quant.ste = *job.ste;
  if (job.per_channel) c.quant.per_channel = true;
  return config::revalidate(c);
}

QuantOutcome run_quant_job(const QuantJob& job) {
  const config::ModelConfig config = apply_quant_overrides(load_config_with(job.config_path, job.overrides), job);
  if (job.threads) set_threads(*job.threads);
  const char* method = method_name(job.method);
  const std::string out = job.out.empty() ? "runs/" + config.name + "_" + method + "_int" +
                                                std::to_string(config.quant.bits) + ".qgm"
                                          : job.out;
  if (job.out.empty()) std::filesystem::create_directories("runs");
  check_writable(out);
  if (job.report) check_writable(*job.report);

  const data::MnistDataset train_set = load_dataset(config.data, data::Split::kTrain);
  const data::MnistDataset test_set = load_dataset(config.data, data::Split::kTest);
  std::printf("%s\n", config::summary(config).c_str());
  const FloatModel f = obtain_float_model(config, job.from, train_set, test_set, job.quiet);
  std::printf("\n%s\n", format_test_line(f.test, "Full Model ").c_str());
  std::printf("Quantization bit: %lld (%s, observer %s%s)\n", static_cast<long long>(config.quant.bits), method,
              config.quant.observer.c_str(), config.quant.per_channel ? ", per-channel weights" : "");

  QuantOutcome o = quantize_model(config, *f.model, job.method, train_set, test_set, f.test.accuracy, job.quiet);
  runtime::save_model(o.model, out);
  const int64_t model_bytes = static_cast<int64_t>(std::filesystem::file_size(out));
  std::printf("Test set: Fake-Quant Model Accuracy: %.2f%%\n", 100.0 * o.fake_quant_accuracy);
  std::printf("Test set: Quant Model Accuracy: %.2f%%  (integer-only; agrees with fake-quant on %.2f%% of images)\n",
              100.0 * o.integer.accuracy, 100.0 * o.agreement);
  std::printf("Saved integer model to %s (%lld bytes)\n", out.c_str(), static_cast<long long>(model_bytes));
  if (job.report) {
    write_report(*job.report, {{"tool", job.method == QuantMethod::Qat ? "train_qat" : "ptq"},
                               {"config", config.name},
                               {"method", method},
                               {"bits", o.bits},
                               {"observer", config.quant.observer},
                               {"per_channel", config.quant.per_channel},
                               {"float_test_accuracy", o.float_accuracy},
                               {"fake_quant_test_accuracy", o.fake_quant_accuracy},
                               {"test_accuracy", o.integer.accuracy},
                               {"agreement", o.agreement},
                               {"train_seconds", o.train_seconds},
                               {"images_per_second", o.images_per_second},
                               {"integer_images_per_second", o.integer.images_per_second},
                               {"model_bytes", model_bytes},
                               {"model", out},
                               {"float_checkpoint", f.checkpoint},
                               {"peak_rss_mb", peak_rss_mb()}});
    std::printf("Wrote report to %s\n", job.report->c_str());
  }
  return o;
}

}  // namespace qg::app
