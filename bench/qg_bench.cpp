// qg_bench: the quantgrad side of bench/run. One job per process, one JSON object on stdout.
//
//   qg_bench train   --config C [--qat [--method tutorial|lsq|...] [--bits 8]] [--batch 64] [--steps 200]
//                    [--warmup 20] [--threads 2] [--width 1]
//   qg_bench profile --config C [--qat] [--batch 64] [--steps 100] [--threads 2]
//   qg_bench infer   --config C [--batch 64] [--images 20000] [--threads 2]
//   qg_bench int8    --config C [--batch 64] [--images 20000] [--latency-images 2000] [--qat-steps 100] [--threads 2]
//                    [--save-model M.qgm]
//   qg_bench sgemm   [--threads 2] [--size 1536]
//   qg_bench stream  [--threads 2] [--size 20000000]   (memory bandwidth, bench/memory_bandwidth.h)
//
// `train` runs the same step as tools/train (app::train_epoch): zero_grad, forward, cross-entropy, item(),
// backward, SGD step, batches from the prefetching DataLoader. `--qat` wraps the model with prepare_qat
// first (observers on; 8 bits and the tutorial's method unless --bits / --method say otherwise) and trains
// it with tools/train_qat's optimizer (app::make_qat_optimizer: the method's QAT lr and momentum, learned
// step sizes in a group of their own) at a constant learning rate. `--width K` multiplies every conv's
// channels (and groups) by K, for the scaling table. The PyTorch side is bench/torch_bench.py; bench/run
// alternates them.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <cblas.h>

#include "app/experiment.h"
#include "app/flags.h"
#include "app/qat_recipe.h"
#include "app/quantize_job.h"
#include "autograd/grad_mode.h"
#include "bench/memory_bandwidth.h"
#include "bench/step_profile.h"
#include "config/builder.h"
#include "config/layer_kind.h"
#include "config/loader.h"
#include "config/quant_recipe.h"
#include "core/blas.h"
#include "datasets/data_loader.h"
#include "nn/functional/loss.h"
#include "nn/optim/sgd.h"
#include "quant/convert.h"
#include "quant/qat_model.h"
#include "runtime/model_file.h"
#include "runtime/run.h"

namespace qg::bench {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// The config with every conv's channels (and groups) multiplied by `width`; later layers re-infer their
// sizes.
config::ModelConfig widened(config::ModelConfig c, int64_t width) {
  if (width == 1) return c;
  for (config::LayerSpec& layer : c.layers) {
    if (layer.kind->name == "conv2d") {
      layer.out_channels *= width;
      if (layer.groups > 1) layer.groups *= width;
    }
    for (const config::LayerKey& key : layer.kind->keys) {  // in_channels, num_features, in_features
      if (key.absent == config::LayerKey::Absent::kInferred) layer.*key.integer = 0;
    }
  }
  return config::revalidate(c);
}

// Multiply-accumulates of one forward pass of one image, and of the weight/input gradients of a training
// step: conv and linear layers only (they are > 97% of the arithmetic). FLOPs = 2 * MACs.
// A training step's arithmetic, and its activation traffic as a model: an unfused step where every layer
// reads its input and writes its output going forward, and reads its output gradient and its saved input and
// writes its input gradient going back, 4 bytes a value (weights and the optimizer left out: small here).
struct StepCost {
  double forward_macs = 0, training_macs = 0;
  double activation_bytes = 0;
};

StepCost step_cost(const config::ModelConfig& c) {
  StepCost cost;
  bool first = true;  // the first layer needs no input gradient
  for (const config::LayerSpec& layer : c.layers) {
    const auto values = [](const Shape& s) {
      double n = 1;
      for (const int64_t d : s)
        n *= static_cast<double>(d);
      return n;
    };
    cost.activation_bytes += 4.0 * (3.0 * values(layer.input_shape) + 2.0 * values(layer.output_shape));
    double macs = 0;
    if (layer.kind->name == "conv2d") {
      const Shape& out = layer.output_shape;
      macs = static_cast<double>(out[0] * out[1] * out[2]) * (layer.input_shape[0] / layer.groups) *
             layer.kernel_size * layer.kernel_size;
    } else if (layer.kind->name == "linear") {
      macs = static_cast<double>(layer.output_shape[0]) * layer.input_shape[0];
    } else {
      continue;
    }
    cost.forward_macs += macs;
    cost.training_macs += macs * (first ? 2 : 3);  // forward + weight gradient (+ input gradient)
    first = false;
  }
  return cost;
}

struct Setup {
  config::ModelConfig config;
  data::MnistDataset train_set;
  std::shared_ptr<nn::Graph> model;
  std::string method = "tutorial";  // QAT: --method
  int64_t bits = 8;                 // QAT: --bits
};

Setup make_setup(const app::Flags& flags) {
  config::ModelConfig c = app::load_config_with(flags.get("config"), {});
  c = widened(c, flags.has("width") ? flags.get_int("width", 1, 16) : 1);
  data::MnistDataset train_set = app::load_dataset(c.data, data::Split::kTrain);
  Generator gen(c.train.seed);
  auto model = config::build_model(c, gen);
  return {c, std::move(train_set), model, flags.optional("method").value_or("tutorial"),
          flags.has("bits") ? flags.get_int("bits", 1, 8) : 8};
}

// The config's quant section with the flags' method and bit width.
config::ModelConfig qat_config(const Setup& s) {
  config::ModelConfig c = s.config;
  c.quant.method = s.method;
  c.quant.bits = s.bits;
  return config::revalidate(c);
}

// The QAT model of tools/train_qat, observers on: 8 bits and the tutorial's method (min/max observers) unless
// the flags say otherwise (--method lsq, --bits 2).
std::shared_ptr<quant::QatModel> make_qat(const Setup& s) {
  const config::ModelConfig c = qat_config(s);
  auto qat = quant::prepare_qat(*s.model, app::layer_settings(c));
  qat->set_bn_frozen(config::resolve_quant(c.quant).freeze_bn_epoch == 0);
  qat->set_observing(true);
  return qat;
}

// Runs `steps` training steps after `warmup` untimed ones; returns images per second.
double time_training(nn::Module& model, nn::Optimizer& optimizer, const data::MnistDataset& train_set,
                     int64_t batch, int64_t warmup, int64_t steps) {
  const data::DataLoader loader(
      train_set, {.batch_size = batch, .shuffle = true, .seed = 1, .drop_last = true, .prefetch = true});
  model.train();
  int64_t done = 0, epoch = 0, images = 0;
  Clock::time_point start;
  while (done < warmup + steps) {
    for (const data::Batch& b : loader.epoch(epoch++)) {
      if (done == warmup) start = Clock::now();
      optimizer.zero_grad();
      const Tensor loss = nn::functional::cross_entropy(model(b.images), b.labels);
      if (!std::isfinite(loss.item())) throw std::runtime_error("bench: training diverged");
      loss.backward();
      optimizer.step();
      if (done >= warmup) images += b.size();
      if (++done == warmup + steps) break;
    }
  }
  return images / seconds_since(start);
}

json job_train(const app::Flags& flags) {
  Setup s = make_setup(flags);
  const bool qat = flags.has("qat");
  const int64_t batch = flags.has("batch") ? flags.get_int("batch", 1, 4096) : 64;
  const int64_t steps = flags.has("steps") ? flags.get_int("steps", 1, 1000000) : 200;
  const int64_t warmup = flags.has("warmup") ? flags.get_int("warmup", 0, 1000000) : 20;
  std::shared_ptr<nn::Module> model = s.model;
  std::unique_ptr<nn::Optimizer> optimizer;
  if (qat) {
    auto q = make_qat(s);
    optimizer = app::make_qat_optimizer(config::resolve_quant(qat_config(s).quant), *q);
    model = q;
  } else {
    optimizer = std::make_unique<nn::Sgd>(
        model->parameters(), nn::SgdOptions{s.config.train.lr, s.config.train.momentum, 0.0, false});
  }
  const double ips = time_training(*model, *optimizer, s.train_set, batch, warmup, steps);
  const StepCost cost = step_cost(s.config);
  return {{"images_per_second", ips},
          {"gflops", ips * 2.0 * cost.training_macs * 1e-9},
          {"mflop_per_image", 2.0 * cost.training_macs * 1e-6},
          {"activation_mb_per_image", cost.activation_bytes * 1e-6},
          {"peak_rss_mb", peak_rss_mb()}};
}

json job_profile(const app::Flags& flags) {
  Setup s = make_setup(flags);
  const int64_t batch = flags.has("batch") ? flags.get_int("batch", 1, 4096) : 64;
  const int64_t steps = flags.has("steps") ? flags.get_int("steps", 1, 1000000) : 100;
  std::shared_ptr<nn::Module> model = s.model;
  std::vector<std::shared_ptr<nn::Module>> layers = s.model->layers();
  std::vector<std::vector<int64_t>> inputs;
  for (size_t i = 0; i < layers.size(); ++i)
    inputs.push_back(s.model->inputs(i));
  if (flags.has("qat")) {
    auto qat = make_qat(s);
    layers.assign(qat->layers().begin(), qat->layers().end());
    inputs.clear();
    for (size_t i = 0; i < layers.size(); ++i)
      inputs.push_back(qat->inputs(i));
    model = qat;
  }
  return profile_training_step(layers, inputs, *model, s.train_set, batch, steps);
}

json job_infer(const app::Flags& flags) {
  Setup s = make_setup(flags);
  const int64_t batch = flags.has("batch") ? flags.get_int("batch", 1, 60000) : 64;
  const int64_t images = flags.has("images") ? flags.get_int("images", 1, 10000000) : 20000;
  s.model->eval();
  NoGradGuard no_grad;
  std::vector<data::Batch> batches;  // prepared up front: the timing is the model's alone
  for (int64_t begin = 0; begin + batch <= s.train_set.size() && batches.size() < 16; begin += batch) {
    batches.push_back(data::make_batch(s.train_set, begin, begin + batch));
  }
  for (const data::Batch& b : batches)
    (*s.model)(b.images);  // warm-up
  int64_t done = 0;
  const Clock::time_point start = Clock::now();
  while (done < images) {
    for (const data::Batch& b : batches) {
      const Tensor logits = (*s.model)(b.images);
      done += b.size();
    }
  }
  const double ips = done / seconds_since(start);
  return {{"images_per_second", ips}, {"peak_rss_mb", peak_rss_mb()}};
}

// A converted integer model: `qat_steps` QAT steps (enough for sensible observer ranges), freeze, convert.
runtime::Model integer_model(Setup& s, int64_t qat_steps) {
  auto qat = make_qat(s);
  const config::QuantRecipe recipe = config::resolve_quant(qat_config(s).quant);
  nn::Sgd optimizer(qat->parameters(), {recipe.qat_lr, recipe.qat_momentum, 0.0, false});
  time_training(*qat, optimizer, s.train_set, 64, 0, qat_steps);
  qat->freeze();
  const data::Normalization norm = s.train_set.normalization();
  return quant::convert(
      *qat, {.input_shape = s.config.input_shape, .input_mean = norm.mean, .input_std = norm.std});
}

json job_int8(const app::Flags& flags) {
  Setup s = make_setup(flags);
  const int64_t batch = flags.has("batch") ? flags.get_int("batch", 1, 60000) : 64;
  const int64_t images = flags.has("images") ? flags.get_int("images", 1, 10000000) : 20000;
  const int64_t latency_images =
      flags.has("latency-images") ? flags.get_int("latency-images", 1, 60000) : 2000;
  const int threads = flags.has("threads") ? static_cast<int>(flags.get_int("threads", 1, 64)) : 2;
  const int64_t qat_steps = flags.has("qat-steps") ? flags.get_int("qat-steps", 1, 100000) : 100;
  const runtime::Model model = integer_model(s, qat_steps);
  // The model measured, for bench/run to export to ONNX and time in ONNX Runtime beside it.
  if (flags.has("save-model")) runtime::save_model(model, flags.get("save-model"));
  const int64_t pixels = s.train_set.pixels_per_image();
  auto pixels_of = [&](int64_t begin, int64_t count) {
    return std::span<const uint8_t>(s.train_set.image(begin), static_cast<size_t>(count * pixels));
  };
  // Throughput: pixels -> codes -> logits -> classes, batch after batch.
  const int64_t batches = std::min<int64_t>(s.train_set.size() / batch, 64);
  int64_t checksum = 0;
  auto run_batch = [&](int64_t i) {
    const runtime::IntTensor out = runtime::run(
        model, runtime::quantize_pixels(model, pixels_of(i * batch, batch)), {.threads = threads});
    checksum += runtime::predict(out)[0];
  };
  for (int64_t i = 0; i < std::min<int64_t>(batches, 4); ++i)
    run_batch(i);
  int64_t done = 0;
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; done < images; i = (i + 1) % batches) {
    run_batch(i);
    done += batch;
  }
  const double ips = done / seconds_since(start);
  // Latency: one image at a time.
  std::vector<double> latencies;
  for (int64_t i = 0; i < latency_images + 50; ++i) {
    const Clock::time_point t0 = Clock::now();
    const runtime::IntTensor out =
        runtime::run(model, runtime::quantize_pixels(model, pixels_of(i, 1)), {.threads = threads});
    checksum += runtime::predict(out)[0];
    if (i >= 50) latencies.push_back(seconds_since(t0) * 1e3);
  }
  std::sort(latencies.begin(), latencies.end());
  const auto quantile = [&](double q) { return latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  return {{"images_per_second", ips},
          {"latency_median_ms", quantile(0.5)},
          {"latency_p99_ms", quantile(0.99)},
          {"checksum", checksum},
          {"peak_rss_mb", peak_rss_mb()}};
}

// OpenBLAS sgemm on large square matrices, with OpenBLAS's own threads: the ceiling a float training step
// is measured against. (quantgrad itself keeps OpenBLAS single-threaded; see core/blas.h.)
json job_sgemm(const app::Flags& flags) {
  const int n = flags.has("size") ? static_cast<int>(flags.get_int("size", 64, 8192)) : 1536;
  const int threads = flags.has("threads") ? static_cast<int>(flags.get_int("threads", 1, 64)) : 2;
  std::vector<float> a(static_cast<size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size(), 0.0f);
  openblas_set_num_threads(threads);
  auto once = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                c.data(), n);
  };
  once();
  std::vector<double> rates;
  for (int rep = 0; rep < 7; ++rep) {
    const Clock::time_point start = Clock::now();
    once();
    rates.push_back(2.0 * n * n * static_cast<double>(n) / seconds_since(start) * 1e-9);
  }
  openblas_set_num_threads(1);
  std::sort(rates.begin(), rates.end());
  return {{"gflops", rates.back()},
          {"gflops_median", rates[rates.size() / 2]},
          {"size", n},
          {"threads", threads},
          {"openblas_core", openblas_get_corename()},
          {"openblas_config", openblas_get_config()}};
}

}  // namespace

}  // namespace qg::bench

int main(int argc, char** argv) {
  using namespace qg;
  return app::run_tool("qg_bench", [&] {
    if (argc < 2) throw app::UsageError("expected a job: train, profile, infer, int8, sgemm or stream");
    const std::string job = argv[1];
    app::Flags flags(
        "qg_bench " + job, "one benchmark job; prints one JSON object",
        {{"config", "C", "model config"},
         {"qat", "", "quantization-aware training (8 bits, the tutorial's method)"},
         {"method", "NAME", "QAT method: tutorial (default), ema, lsq, binary"},
         {"bits", "B", "QAT bit width (default 8)"},
         {"batch", "B", "batch size"},
         {"steps", "N", "timed training steps"},
         {"warmup", "N", "untimed training steps first"},
         {"images", "N", "images to time (inference)"},
         {"latency-images", "N", "batch-1 runs for the latency percentiles"},
         {"threads", "T", "threads (default 2)"},
         {"width", "K", "multiply conv channels by K"},
         {"size", "N", "sgemm matrix size; stream: doubles per array"},
         {"qat-steps", "N", "int8: QAT steps before convert (default 100)"},
         {"save-model", "FILE", "int8: also write the integer model measured (for ONNX Runtime)"}});
    flags.parse(argc - 1, argv + 1);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    app::set_threads(flags.has("threads") ? flags.get_int("threads", 1, 64) : 2);
    nlohmann::json result;
    if (job == "train")
      result = bench::job_train(flags);
    else if (job == "profile")
      result = bench::job_profile(flags);
    else if (job == "infer")
      result = bench::job_infer(flags);
    else if (job == "int8")
      result = bench::job_int8(flags);
    else if (job == "sgemm")
      result = bench::job_sgemm(flags);
    else if (job == "stream")
      result = bench::measure_memory_bandwidth(
          flags.has("size") ? flags.get_int("size", 1 << 10, int64_t{1} << 30) : 20'000'000,
          flags.has("threads") ? static_cast<int>(flags.get_int("threads", 1, 64)) : 2, 10);
    else
      throw app::UsageError("unknown job \"" + job + "\"");
    result["job"] = job;
    std::printf("%s\n", result.dump().c_str());
    return 0;
  });
}
