// Chapter 6 (docs/tutorial/06-bn-folding.md): folding a BatchNorm into the conv before it.
//
//   1. The fold, channel 0 of a trained conv + BatchNorm, by hand and with quant::fold_batch_norm.
//   2. One output element three ways (conv then BN, the formula, the folded conv), then a whole batch.
//   3. Why QAT must choose between batch and running statistics: the folded weight moves with every batch.
//   4. What the library does with it: prepare_qat's QConvBNReLU, and the integer model, which has no BN op.
//
//   build/examples/06_bn_folding            (needs MNIST in data/mnist: scripts/get-data; --data DIR elsewhere)
//   build/examples/06_bn_folding --test     small synthetic data, checks its own claims (what ctest runs)
#include <algorithm>
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
#include "check.h"
#include "config/builder.h"
#include "config/loader.h"
#include "datasets/data_loader.h"
#include "datasets/mnist.h"
#include "datasets/synthetic_digits.h"
#include "nn/functional/conv2d.h"
#include "nn/layers.h"
#include "quant/bn_fold.h"
#include "quant/fake_quantize.h"
#include "quant/qat_model.h"
#include "runtime/op.h"

namespace {

using namespace qg;

using course::check;

void print_values(const char* label, const std::vector<float>& values) {
  std::printf("  %-9s", label);
  for (float v : values)
    std::printf(" %8.4f", double(v));
  std::printf("\n");
}

// Element [n, c, y, x] of a [N, C, H, W] tensor.
float at(const Tensor& t, int64_t n, int64_t c, int64_t y, int64_t x) {
  const Shape& s = t.shape();
  return t.contiguous().data()[((n * s[1] + c) * s[2] + y) * s[3] + x];
}

// Part 1 and 2: the fold in numbers, and the check that it computes what conv -> BN computes.
void fold_in_numbers(const nn::Conv2d& conv, nn::BatchNorm2d& bn, const Tensor& images) {
  std::printf("== 1. The fold, channel 0 of the first conv + BatchNorm ==\n");
  const int64_t c = 0;
  const double gamma = bn.weight.to_vector()[c], beta = bn.bias.to_vector()[c];
  const double mu = bn.running_mean.to_vector()[c], var = bn.running_var.to_vector()[c];
  const double b = conv.bias.to_vector()[c];
  const double sigma = std::sqrt(var + bn.eps);
  std::printf("  gamma = %.6f  beta = %.6f  running mean = %.6f  running var = %.6f  eps = %g\n", gamma, beta,
              mu, var, double(bn.eps));
  std::printf("  sigma = sqrt(var + eps) = %.6f   gamma / sigma = %.6f\n", sigma, gamma / sigma);

  // By hand, in double: w' = gamma w / sigma, b' = beta + gamma (b - mu) / sigma.
  const int64_t row = conv.weight.numel() / conv.out_channels;  // weights of one output channel (1x3x3)
  const std::vector<float> all_w = conv.weight.to_vector();
  const std::vector<float> w(all_w.begin() + c * row, all_w.begin() + (c + 1) * row);
  std::vector<float> w_hand;
  for (float v : w)
    w_hand.push_back(static_cast<float>(gamma * v / sigma));
  const double b_hand = beta + gamma * (b - mu) / sigma;

  // The library: quant::fold_batch_norm (quant/bn_fold.h), all channels at once.
  const quant::FoldedConv folded = quant::fold_batch_norm(conv.weight, conv.bias, bn.running_mean,
                                                          bn.running_var, bn.weight, bn.bias, bn.eps);
  const std::vector<float> all_wf = folded.weight.to_vector();
  const std::vector<float> w_lib(all_wf.begin() + c * row, all_wf.begin() + (c + 1) * row);
  const double b_lib = folded.bias.to_vector()[c];
  print_values("w", w);
  print_values("w' hand", w_hand);
  print_values("w' fold", w_lib);
  std::printf("  b = %.6f   b' = beta + gamma (b - mu) / sigma = %.6f (hand), %.6f (fold_batch_norm)\n\n", b,
              b_hand, b_lib);
  for (int64_t k = 0; k < row; ++k)
    check(std::abs(w_hand[k] - w_lib[k]) <= 1e-6f * std::max(1.0f, std::abs(w_hand[k])),
          "fold_batch_norm's w' is the formula's");
  check(std::abs(b_hand - b_lib) <= 1e-5 * std::max(1.0, std::abs(b_hand)),
        "fold_batch_norm's b' is the formula's");

  std::printf("== 2. Does the folded conv compute what conv -> BN computes? ==\n");
  const NoGradGuard no_grad;
  const Tensor z = nn::functional::conv2d(images, conv.weight, conv.bias, conv.options);  // the conv alone
  const Tensor y_ref = bn(z);                                                             // then BN (eval)
  const Tensor y_fold = nn::functional::conv2d(images, folded.weight, folded.bias, conv.options);
  const int64_t y = z.shape()[2] / 2, x = z.shape()[3] / 2;
  const double z0 = at(z, 0, c, y, x);
  std::printf("  image 0, channel %lld, position (%lld, %lld):\n", (long long)c, (long long)y, (long long)x);
  std::printf("    conv:         z = sum w x + b               = %.6f\n", z0);
  std::printf("    then BN:      gamma (z - mu) / sigma + beta = %.6f   (by hand: %.6f)\n",
              double(at(y_ref, 0, c, y, x)), gamma * (z0 - mu) / sigma + beta);
  std::printf("    folded conv:  sum w' x + b'                 = %.6f\n", double(at(y_fold, 0, c, y, x)));
  const std::vector<float> ref = y_ref.to_vector(), fold = y_fold.to_vector();
  double max_diff = 0, max_abs = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_diff = std::max(max_diff, double(std::abs(ref[i] - fold[i])));
    max_abs = std::max(max_abs, double(std::abs(ref[i])));
  }
  std::printf("  all %zu outputs of %lld images: max |conv->BN - folded| = %.1e, largest |output| %.2f\n\n",
              ref.size(), (long long)images.shape()[0], max_diff, max_abs);
  check(max_diff <= 1e-5 * std::max(1.0, max_abs),
        "the folded conv equals conv -> BN within float tolerance");
}

// Part 3: during QAT, which statistics? Fold with each batch's own mean and variance and watch the weights move.
void batch_statistics(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const data::MnistDataset& train) {
  std::printf("== 3. Batch statistics move the folded weights ==\n");
  const NoGradGuard no_grad;
  const quant::FoldedConv running = quant::fold_batch_norm(conv.weight, conv.bias, bn.running_mean,
                                                           bn.running_var, bn.weight, bn.bias, bn.eps);
  // A fixed 2-bit signed symmetric grid from the running-statistics fold, one step per tensor, as a learned
  // step size (LSQ) stays put while the batch statistics change under it.
  const std::vector<float> wr = running.weight.to_vector();
  const float max_abs = std::abs(
      *std::max_element(wr.begin(), wr.end(), [](float a, float b) { return std::abs(a) < std::abs(b); }));
  const quant::QParams grid =
      quant::make_per_tensor(-max_abs, max_abs, {.bits = 2, .is_signed = true, .symmetric = true});
  const std::vector<float> codes_running = quant::quantize_codes(running.weight, grid).to_vector();
  std::printf("  running statistics, channel 0: mean %.4f, var %.4f; 2-bit grid step %.4f over %zu weights\n",
              double(bn.running_mean.to_vector()[0]), double(bn.running_var.to_vector()[0]),
              double(grid.scale[0]), wr.size());

  const data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 3});
  int batch_index = 0, changed_total = 0;
  for (const data::Batch& batch : loader.epoch(0)) {
    if (++batch_index > 4) break;
    // The batch's own statistics per channel, as BatchNorm computes them in training mode (biased variance).
    const Tensor z = nn::functional::conv2d(batch.images, conv.weight, conv.bias, conv.options);
    const Shape& s = z.shape();
    const std::vector<float> v = z.to_vector();
    std::vector<float> mean(s[1], 0.0f), var(s[1], 0.0f);
    const int64_t per_channel = s[0] * s[2] * s[3];
    for (int64_t ch = 0; ch < s[1]; ++ch) {
      double sum = 0, sum_sq = 0;
      for (int64_t n = 0; n < s[0]; ++n)
        for (int64_t i = 0; i < s[2] * s[3]; ++i) {
          const double value = v[(n * s[1] + ch) * s[2] * s[3] + i];
          sum += value;
          sum_sq += value * value;
        }
      mean[ch] = static_cast<float>(sum / per_channel);
      var[ch] = static_cast<float>(sum_sq / per_channel - (sum / per_channel) * (sum / per_channel));
    }
    const Tensor batch_mean = Tensor::from_vector(mean, {s[1]}), batch_var = Tensor::from_vector(var, {s[1]});
    const quant::FoldedConv f =
        quant::fold_batch_norm(conv.weight, conv.bias, batch_mean, batch_var, bn.weight, bn.bias, bn.eps);
    const std::vector<float> codes = quant::quantize_codes(f.weight, grid).to_vector();
    int changed = 0;
    for (size_t i = 0; i < codes.size(); ++i)
      changed += codes[i] != codes_running[i];
    changed_total += changed;
    const double factor_batch = bn.weight.to_vector()[0] / std::sqrt(var[0] + bn.eps);
    const double factor_running =
        bn.weight.to_vector()[0] / std::sqrt(bn.running_var.to_vector()[0] + bn.eps);
    std::printf(
        "  batch %d: channel 0 mean %.4f, var %.4f, gamma/sigma %.4f (running %.4f, %+.1f %%); "
        "2-bit codes changed: %d of %zu\n",
        batch_index, double(mean[0]), double(var[0]), factor_batch, factor_running,
        100.0 * (factor_batch / factor_running - 1.0), changed, codes.size());
  }
  std::printf("\n");
  check(changed_total > 0, "folding with batch statistics changes some low-bit weight codes");
}

// Part 4: the library's QAT layer and the integer model.
void in_the_library(const config::ModelConfig& config, nn::Graph& model, const data::MnistDataset& train,
                    const data::MnistDataset& test) {
  std::printf("== 4. In the library ==\n");
  const auto qat = quant::prepare_qat(model, app::layer_settings(config));
  std::printf("  prepare_qat: layer 0 is %s\n", qat->layers()[0]->describe().c_str());
  check(qat->layers()[0]->type_name() == "QConvBNReLU", "conv + BN + ReLU become one QConvBNReLU");

  const nn::Conv2d& conv = dynamic_cast<const nn::Conv2d&>(*model[0]);
  const nn::BatchNorm2d& bn = dynamic_cast<const nn::BatchNorm2d&>(*model[1]);
  const quant::FoldedConv folded = quant::fold_batch_norm(conv.weight, conv.bias, bn.running_mean,
                                                          bn.running_var, bn.weight, bn.bias, bn.eps);
  // PTQ at 8 bits (eval mode: the running statistics) and convert to the integer model.
  config::ModelConfig c = config;
  c.quant.bits = 8;
  const app::QuantOutcome o = app::quantize_model(c, model, app::QuantMethod::Ptq, train, test, 0.0, true);
  std::string ops;
  for (const runtime::Node& node : o.model.ops)
    ops += std::string(ops.empty() ? "" : ", ") + runtime::op_name(node);
  std::printf("  integer model ops: %s\n", ops.c_str());
  check(ops.find("batch") == std::string::npos && ops.find("mul_add") == std::string::npos,
        "the integer model has no BatchNorm op: the BN lives in the conv's weights and bias");

  // The integer conv's weights, dequantized, are the folded weights to within half a step.
  const runtime::Conv2d& iconv = std::get<runtime::Conv2d>(o.model.ops[0].op());
  const std::vector<float> wf = folded.weight.to_vector();
  const int64_t row = iconv.weight.row_size();
  double worst = 0;  // in steps
  for (size_t i = 0; i < wf.size(); ++i) {
    const runtime::QuantParams q = iconv.weight.channel_params(static_cast<int64_t>(i) / row);
    const double dequantized = q.scale * (iconv.weight.codes[i] - q.zero_point);
    worst = std::max(worst, std::abs(dequantized - wf[i]) / q.scale);
  }
  std::printf(
      "  its first conv: %lld weight codes, S_w(0) = %.6f; S_w (q - Z) vs the folded w': largest error "
      "%.3f steps\n",
      (long long)iconv.weight.codes.size(), iconv.weight.scales[0], worst);
  std::printf("  8-bit integer model: %.2f %% on %lld test images\n", 100.0 * o.integer.accuracy,
              (long long)test.size());
  check(worst <= 0.5 + 1e-4, "the integer conv holds the folded weights, rounded to the nearest code");
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_tool("06_bn_folding", [&] {
    app::Flags flags("06_bn_folding", "Chapter 6: BatchNorm folding in numbers.",
                     {{"test", "", "small synthetic data; check every claim (exit 1 if one fails)"},
                      {"data", "DIR", "MNIST directory (default data/mnist)"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    const bool test = flags.has("test");
    app::set_threads(1);

    // The tutorial's NetBN (configs/mnist_cnn_bn.json); --test a small conv + BN + ReLU network.
    config::ModelConfig config = test ? config::parse_config_text(R"({
        "name": "small_net_bn", "input": {"shape": [1, 28, 28]},
        "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}, {"type": "batchnorm2d"},
                   {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 4}, {"type": "flatten"},
                   {"type": "linear", "out_features": 10}],
        "train": {"lr": 0.05, "test_batch_size": 250}, "quant": {"ptq_batches": 8}})",
                                                                  "06_bn_folding --test")
                                      : config::load_config("configs/mnist_cnn_bn.json");
    // --test: synthetic digits. Otherwise 6000 MNIST training images train the float model for one epoch (its
    // BN learns its statistics), PTQ calibrates on 20 batches of them, and 2000 test images evaluate.
    const std::string root = flags.optional("data").value_or(data::default_root(data::DatasetKind::kMnist));
    const data::MnistDataset train =
        test ? data::synthetic_digits(1024, 1)
             : data::MnistDataset(data::DatasetKind::kMnist, data::Split::kTrain, root).head(6000);
    const data::MnistDataset test_set =
        test ? data::synthetic_digits(500, 2)
             : data::MnistDataset(data::DatasetKind::kMnist, data::Split::kTest, root).head(2000);
    if (!test) config.quant.ptq_batches = 20;

    Generator gen(config.train.seed);
    const auto model = config::build_model(config, gen);
    const auto optimizer = app::make_optimizer(config.train, model->parameters(), config.train.lr);
    const data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = config.train.seed});
    app::TrainingProgress progress;
    app::train_epoch(*model, *optimizer, loader, progress, {.progress_bar = false, .quiet = true});
    model->eval();  // BN now uses its running statistics
    std::printf("float model %s trained for one epoch on %lld images\n\n", config.name.c_str(),
                (long long)train.size());

    const auto& conv = dynamic_cast<const nn::Conv2d&>(*(*model)[0]);
    auto& bn = dynamic_cast<nn::BatchNorm2d&>(*(*model)[1]);
    fold_in_numbers(conv, bn, data::make_batch(test_set, 0, 100).images);
    batch_statistics(conv, bn, train);
    in_the_library(config, *model, train, test_set);
    if (course::failures() > 0)
      throw std::runtime_error(std::to_string(course::failures()) + " check(s) failed");
    if (test) std::printf("all checks passed\n");
    return 0;
  });
}
