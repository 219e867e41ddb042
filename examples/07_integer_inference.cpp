// Chapter 7 (docs/tutorial/07-integer-inference.md): integer-only inference, one output element by hand.
//
// The program makes a small integer model (a float model trained for one epoch, PTQ with the tutorial's
// observers, convert) and saves it as a model file, its float model as a checkpoint beside it, or takes the
// model file you give it (--model). It then reads the file back, picks one output element of the first conv
// and derives it step by step with the runtime's own functions — input codes, the int32 accumulator and
// gemmlowp's zero-point terms, the bias, the fixed-point multiplier M0 * 2^(shift - 31), its rounding, + Z3,
// the fused-ReLU clamp — and checks that the result is the code the runtime computed. Then it re-derives
// every element of that conv output.
//
//   build/examples/07_integer_inference                 (needs MNIST in data/mnist: scripts/get-data)
//   build/examples/07_integer_inference --model M.qgm   any model file whose first op is a conv2d
//   build/examples/07_integer_inference --test          small synthetic data, checks its own claims
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/experiment.h"
#include "app/flags.h"
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
#include "runtime/runtime.h"

namespace {

using namespace qg;
namespace rt = qg::runtime;

using course::check;

// The float model (one epoch) and its integer model after PTQ with the tutorial's observers: unsigned
// asymmetric weights, so that the weight zero point Z2 is not 0 and every term of the expansion shows.
struct Made {
  std::shared_ptr<nn::Graph> float_model;
  app::TrainingProgress progress;  // where training stopped (one epoch), for the float checkpoint
  rt::Model model;
};
Made make_model(const config::ModelConfig& config, int bits, const data::MnistDataset& train,
                const data::MnistDataset& test) {
  Generator gen(config.train.seed);
  Made made{config::build_model(config, gen), {}, {}};
  const auto optimizer = app::make_optimizer(config.train, made.float_model->parameters(), config.train.lr);
  const data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = config.train.seed});
  app::train_epoch(*made.float_model, *optimizer, loader, made.progress,
                   {.progress_bar = false, .quiet = true});
  made.progress = made.progress.next_epoch();
  config::ModelConfig c = config;
  c.quant.method = "tutorial";
  c.quant.bits = bits;
  c = config::revalidate(c);
  made.model = app::quantize_model(c, *made.float_model, app::QuantMethod::Ptq, train, test, 0.0, true).model;
  return made;
}

// What the derivation needs to know about the conv's geometry.
struct Site {
  int64_t c, y, x;  // output channel and position
};

// The integer accumulator of output (c, y, x), the direct way: bias + sum_k (q1 - Z1)(q2 - Z2).
int64_t accumulator(const rt::Conv2d& conv, const rt::IntTensor& input, const Site& s) {
  const int64_t H = input.shape[2], W = input.shape[3];
  const int64_t in_per_group = conv.in_channels / conv.groups;
  const int64_t group = s.c / (conv.out_channels / conv.groups);
  const int32_t z1 = conv.input_quant.zero_point, z2 = conv.weight.zero_point(s.c);
  int64_t acc = conv.bias.empty() ? 0 : conv.bias[s.c];
  const auto& w = conv.window;
  for (int64_t i = 0; i < in_per_group; ++i)
    for (int64_t t = 0; t < w.kernel[0]; ++t)
      for (int64_t u = 0; u < w.kernel[1]; ++u) {
        const int64_t yy = s.y * w.stride[0] - w.padding[0] + t * w.dilation[0];
        const int64_t xx = s.x * w.stride[1] - w.padding[1] + u * w.dilation[1];
        if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // padding: code Z1, real 0
        const int32_t q1 = input.data[((group * in_per_group + i) * H + yy) * W + xx];
        const int32_t q2 = conv.weight.codes[((s.c * in_per_group + i) * w.kernel[0] + t) * w.kernel[1] + u];
        acc += int64_t{q1 - z1} * (q2 - z2);
      }
  return acc;
}

// The output code from the accumulator, with the runtime's functions (runtime/requantize.h).
int32_t output_code(const rt::Conv2d& conv, int64_t acc, int64_t c) {
  const rt::OutputStage& st = conv.output_stage;
  const rt::QuantizedMultiplier m = st.multipliers[st.per_channel() ? c : 0];
  return rt::requantize_to_code(static_cast<int32_t>(acc), m, st.output.zero_point, st.clamp_min,
                                st.clamp_max);
}

// The derivation of one element, printed step by step. Returns the code it arrives at.
int32_t derive(const rt::Model& model, const rt::Conv2d& conv, const std::vector<uint8_t>& pixels,
               const rt::IntTensor& input, const Site& s) {
  const rt::QuantParams& in = conv.input_quant;
  const rt::QuantParams out = conv.output_stage.output;
  const rt::QuantParams w = conv.weight.channel_params(s.c);
  std::printf("output element: channel %lld, row %lld, column %lld of the first conv\n\n", (long long)s.c,
              (long long)s.y, (long long)s.x);

  // 1. The input codes of the window (the model quantizes raw pixels: normalise, then round(x / S1 + Z1)).
  std::printf(
      "1. input: S1 = %.9g, Z1 = %d (%d-bit); x = (p/255 - %.4f) / %.4f, q1 = clamp(round(x/S1 + Z1))\n",
      in.scale, in.zero_point, in.bits, model.input.mean[0], model.input.stddev[0]);
  const int64_t H = input.shape[2], W = input.shape[3], kh = conv.window.kernel[0],
                kw = conv.window.kernel[1];
  if (conv.in_channels == 1 && conv.window.stride == std::array<int64_t, 2>{1, 1} &&
      conv.window.padding == std::array<int64_t, 2>{0, 0} &&
      conv.window.dilation == std::array<int64_t, 2>{1, 1}) {
    std::printf("   pixels p        codes q1        weight codes q2 (S2 = %.9g, Z2 = %d, %d-bit)\n", w.scale,
                w.zero_point, w.bits);
    for (int64_t t = 0; t < kh; ++t) {
      std::printf("   ");
      for (int64_t u = 0; u < kw; ++u)
        std::printf("%4d", pixels[(s.y + t) * W + s.x + u]);
      std::printf("    ");
      for (int64_t u = 0; u < kw; ++u)
        std::printf("%5d", input.data[(s.y + t) * W + s.x + u]);
      std::printf("    ");
      for (int64_t u = 0; u < kw; ++u)
        std::printf("%5d", conv.weight.codes[(s.c * kh + t) * kw + u]);
      std::printf("\n");
    }
  }

  // 2. The sum of products, and gemmlowp's expansion of it into four terms.
  int64_t s12 = 0, s1 = 0, s2 = 0, k = 0;
  const int64_t in_per_group = conv.in_channels / conv.groups;
  const int64_t group = s.c / (conv.out_channels / conv.groups);
  for (int64_t i = 0; i < in_per_group; ++i)
    for (int64_t t = 0; t < kh; ++t)
      for (int64_t u = 0; u < kw; ++u) {
        const int64_t yy = s.y * conv.window.stride[0] - conv.window.padding[0] + t * conv.window.dilation[0];
        const int64_t xx = s.x * conv.window.stride[1] - conv.window.padding[1] + u * conv.window.dilation[1];
        const int32_t q1 = (yy < 0 || yy >= H || xx < 0 || xx >= W)
                               ? in.zero_point
                               : input.data[((group * in_per_group + i) * H + yy) * W + xx];
        const int32_t q2 = conv.weight.codes[((s.c * in_per_group + i) * kh + t) * kw + u];
        s12 += int64_t{q1} * q2;
        s1 += q1;
        s2 += q2;
        ++k;
      }
  const int64_t z1 = in.zero_point, z2 = w.zero_point;
  const int64_t expanded = s12 - z2 * s1 - z1 * s2 + k * z1 * z2;
  std::printf("\n2. sum_k (q1 - Z1)(q2 - Z2) = sum q1 q2 - Z2 sum q1 - Z1 sum q2 + K Z1 Z2      (K = %lld)\n",
              (long long)k);
  std::printf("   = %lld - %lld * %lld - %lld * %lld + %lld * %lld * %lld\n", (long long)s12, (long long)z2,
              (long long)s1, (long long)z1, (long long)s2, (long long)k, (long long)z1, (long long)z2);
  std::printf("   = %lld - %lld - %lld + %lld = %lld\n", (long long)s12, (long long)(z2 * s1),
              (long long)(z1 * s2), (long long)(k * z1 * z2), (long long)expanded);

  // 3. The bias, an int32 at the accumulator's scale S1 * S2.
  const int32_t bias = conv.bias.empty() ? 0 : conv.bias[s.c];
  const int64_t acc = bias + expanded;
  std::printf("\n3. bias: int32 code %d at scale S1*S2 = %.9g (real %.6f)\n", bias, in.scale * w.scale,
              bias * in.scale * w.scale);
  std::printf("   acc = bias + sum = %d + %lld = %lld   (real value S1*S2*acc = %.6f)\n", bias,
              (long long)expanded, (long long)acc, double(acc) * in.scale * w.scale);

  // 4. The multiplier M = S1 S2 / S3 in fixed point.
  const size_t mc = conv.output_stage.per_channel() ? static_cast<size_t>(s.c) : 0;
  const double m_real = conv.output_stage.real_multipliers[mc];
  const rt::QuantizedMultiplier m = rt::quantize_multiplier(m_real);
  std::printf("\n4. output: S3 = %.9g, Z3 = %d; M = S1*S2/S3 = %.12g\n", out.scale, out.zero_point, m_real);
  std::printf("   quantize_multiplier(M): M0 = %d, shift = %d, so M ~ M0 * 2^(%d) = %.12g\n", m.multiplier,
              m.shift, m.shift - 31, rt::dequantize_multiplier(m));
  check(m == conv.output_stage.multipliers[mc], "the model file's (M0, shift) is quantize_multiplier(M)");

  // 5. The requantization: one rounding of the exact 64-bit product (the library), next to gemmlowp's two.
  const int64_t product = acc * m.multiplier;
  const int32_t r = rt::multiply_by_quantized_multiplier(static_cast<int32_t>(acc), m);
  std::printf("\n5. acc * M0 = %lld * %d = %lld (exact, 64-bit)\n", (long long)acc, m.multiplier,
              (long long)product);
  std::printf("   one rounding:  round(acc * M0 / 2^%d) = %d          (multiply_by_quantized_multiplier)\n",
              31 - m.shift, r);
  const int left = std::max(m.shift, 0), right = std::max(-m.shift, 0);
  const int32_t high = rt::saturating_rounding_doubling_high_mul(
      static_cast<int32_t>(acc * (int64_t{1} << left)), m.multiplier);
  const int32_t two_step = rt::rounding_divide_by_pot(high, right);
  std::printf("   gemmlowp:      SaturatingRoundingDoublingHighMul(acc, M0) = round(acc * M0 / 2^31) = %d,\n",
              high);
  std::printf("                  RoundingDivideByPOT(%d, %d) = %d\n", high, right, two_step);
  std::printf("   the tutorial's float: round(M * acc) = round(%.6f) = %d\n", m_real * double(acc),
              rt::requantize_reference(static_cast<int32_t>(acc), m_real));

  // 6. + Z3, then the clamp (a fused ReLU clamps at Z3: codes below it are negative reals).
  const int64_t shifted = int64_t{r} + out.zero_point;
  const int32_t q3 = output_code(conv, acc, s.c);
  const bool relu = conv.output_stage.clamp_min == out.zero_point;
  std::printf("\n6. r + Z3 = %d + %d = %lld; clamp to [%d, %d]%s: q3 = %d  (real S3 (q3 - Z3) = %.6f)\n", r,
              out.zero_point, (long long)shifted, conv.output_stage.clamp_min, conv.output_stage.clamp_max,
              relu ? " (the fused ReLU: clamp_min = Z3)" : "", q3, out.scale * (q3 - out.zero_point));
  check(acc == accumulator(conv, input, s),
        "gemmlowp's expansion equals the direct sum of (q1 - Z1)(q2 - Z2)");
  return q3;
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_tool("07_integer_inference", [&] {
    app::Flags flags("07_integer_inference", "Chapter 7: one output element of an integer model, by hand.",
                     {{"test", "", "small synthetic data; check every claim (exit 1 if one fails)"},
                      {"data", "DIR", "MNIST directory (default data/mnist)"},
                      {"model", "FILE", "a model file (.qgm) to read instead of making one"},
                      {"bits", "B", "bit width of the model made (default 8)"},
                      {"out", "FILE",
                       "where to save the model made (default runs/tutorial/07_mnist_cnn.qgm); its float "
                       "model goes beside "
                       "it, as .ckpt"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    const bool test = flags.has("test");
    app::set_threads(1);
    const int bits = flags.has("bits") ? static_cast<int>(flags.get_int("bits", 2, 8)) : 8;

    // The images: MNIST's test set (or synthetic digits with --test); image 0 is the one derived.
    const std::string root = flags.optional("data").value_or(data::default_root(data::DatasetKind::kMnist));
    const data::MnistDataset test_set =
        test ? data::synthetic_digits(200, 2)
             : data::MnistDataset(data::DatasetKind::kMnist, data::Split::kTest, root).head(2000);

    std::string path, checkpoint_path;
    std::shared_ptr<nn::Graph> float_model;
    if (flags.has("model")) {
      path = flags.get("model");
    } else {
      // Make one: the tutorial's Net (small_net with --test), one epoch on 6000 images, PTQ, convert, save.
      const config::ModelConfig config = test ? config::parse_config_text(R"({
          "name": "small_net", "input": {"shape": [1, 28, 28]},
          "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}, {"type": "relu"},
                     {"type": "maxpool2d", "kernel_size": 4}, {"type": "flatten"},
                     {"type": "linear", "out_features": 10}],
          "train": {"lr": 0.05, "test_batch_size": 200}, "quant": {"ptq_batches": 8}})",
                                                                          "07_integer_inference --test")
                                              : config::load_config("configs/mnist_cnn.json");
      const data::MnistDataset train =
          test ? data::synthetic_digits(1024, 1)
               : data::MnistDataset(data::DatasetKind::kMnist, data::Split::kTrain, root).head(6000);
      Made made = make_model(config, bits, train, test_set);
      float_model = made.float_model;
      // --test writes to the temporary directory (and removes the file at the end).
      const std::string test_path =
          (std::filesystem::temp_directory_path() / "qg_07_integer_inference_test.qgm").string();
      path = flags.optional("out").value_or(test ? test_path : "runs/tutorial/07_mnist_cnn.qgm");
      if (std::filesystem::path(path).has_parent_path())
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      rt::save_model(made.model, path);
      std::printf("made %s: %s trained one epoch on %lld images, PTQ (tutorial observers) at %d bits\n",
                  path.c_str(), config.name.c_str(), (long long)train.size(), bits);
      // The float model beside it, for `qinfer --config ... --from CKPT`, which compares the two.
      checkpoint_path = std::filesystem::path(path).replace_extension(".ckpt").string();
      if (checkpoint_path == path) checkpoint_path += ".ckpt";  // --out x.ckpt: never write over the model
      app::save_training_checkpoint(checkpoint_path, *float_model, nullptr,
                                    app::checkpoint_metadata("float", config, made.progress, train.size()));
      std::printf("saved its float model as %s\n", checkpoint_path.c_str());
    }

    // From here on only the model file is used, as a deployed program would.
    const rt::Model model = rt::load_model(path);
    const rt::Conv2d* conv = model.ops.empty() ? nullptr : std::get_if<rt::Conv2d>(&model.ops[0]);
    if (conv == nullptr) throw std::runtime_error(path + ": the first op is not a conv2d");
    const std::vector<uint8_t> pixels(test_set.image(0), test_set.image(0) + test_set.pixels_per_image());
    const rt::IntTensor input = rt::quantize_pixels(model, pixels);

    // What the runtime computes for that conv: a model of the input and op 0 alone, run by rt::run.
    rt::Model first;
    first.input = model.input;
    first.add(model.ops[0].op());
    const rt::IntTensor runtime_out = rt::run(first, input);
    const int64_t OH = runtime_out.shape[2], OW = runtime_out.shape[3];

    // The element to derive: in channel 0, the position with the largest code (a ReLU-positive output).
    const Site site = [&] {
      Site best{0, 0, 0};
      for (int64_t i = 0; i < OH * OW; ++i)
        if (runtime_out.data[i] > runtime_out.data[best.y * OW + best.x]) best = {0, i / OW, i % OW};
      return best;
    }();
    std::printf(
        "model file %s: first op conv2d %lld -> %lld channels, kernel %lldx%lld; image 0 of the test set\n\n",
        path.c_str(), (long long)conv->in_channels, (long long)conv->out_channels,
        (long long)conv->window.kernel[0], (long long)conv->window.kernel[1]);
    const int32_t q3 = derive(model, *conv, pixels, input, site);
    const int32_t runtime_q3 = runtime_out.data[(site.c * OH + site.y) * OW + site.x];
    std::printf("\nthe runtime (rt::run) computed %d: %s\n", runtime_q3,
                q3 == runtime_q3 ? "the same" : "DIFFERENT");
    check(q3 == runtime_q3, "the derived code equals the runtime's");
    if (float_model) {
      const NoGradGuard no_grad;
      const auto& fconv = dynamic_cast<const nn::Conv2d&>(*(*float_model)[0]);
      const Tensor y = nn::functional::conv2d(data::make_batch(test_set, 0, 1).images, fconv.weight,
                                              fconv.bias, fconv.options);
      const float v = y.contiguous().data()[(site.c * OH + site.y) * OW + site.x];
      std::printf("the float model's conv + ReLU there: %.6f\n", double(std::max(v, 0.0f)));
    }

    // An element the fused ReLU clamps: the first negative accumulator in channel 0.
    for (int64_t i = 0; i < OH * OW; ++i) {
      const Site s{0, i / OW, i % OW};
      const int64_t acc = accumulator(*conv, input, s);
      const rt::QuantizedMultiplier m = conv->output_stage.multipliers[0];
      const int32_t r = rt::multiply_by_quantized_multiplier(static_cast<int32_t>(acc), m);
      if (r >= 0) continue;
      std::printf(
          "\nclamped by the fused ReLU: channel 0, row %lld, column %lld: acc = %lld, r = %d, r + Z3 = %d "
          "-> clamp_min %d\n",
          (long long)s.y, (long long)s.x, (long long)acc, r, r + conv->output_stage.output.zero_point,
          conv->output_stage.clamp_min);
      break;
    }

    // Every element of the conv's output, derived the same way, against the runtime's.
    int64_t same = 0;
    for (int64_t c = 0; c < conv->out_channels; ++c)
      for (int64_t i = 0; i < OH * OW; ++i) {
        const Site s{c, i / OW, i % OW};
        same += output_code(*conv, accumulator(*conv, input, s), c) == runtime_out.data[c * OH * OW + i];
      }
    std::printf("\nall %lld outputs of the first conv derived the same way: %lld equal the runtime's\n",
                (long long)runtime_out.numel(), (long long)same);
    check(same == runtime_out.numel(), "every derived output code equals the runtime's");

    // Where gemmlowp's two roundings and the library's one part ways: a tie of the second rounding.
    const auto two_step = [](int32_t acc, rt::QuantizedMultiplier m) {
      const int32_t high =
          rt::saturating_rounding_doubling_high_mul(acc * (1 << std::max(m.shift, 0)), m.multiplier);
      return rt::rounding_divide_by_pot(high, std::max(-m.shift, 0));
    };
    const rt::QuantizedMultiplier quarter = rt::quantize_multiplier(0.25);
    std::printf(
        "\nM = 0.25 (M0 = %d, shift %d), acc = 5: one rounding gives %d, gemmlowp's two give %d "
        "(round(1.25) = 1)\n",
        quarter.multiplier, quarter.shift, rt::multiply_by_quantized_multiplier(5, quarter),
        two_step(5, quarter));
    check(rt::multiply_by_quantized_multiplier(5, quarter) == 1 && two_step(5, quarter) == 2,
          "M = 0.25, acc = 5: one rounding 1, two roundings 2");
    int64_t differ = 0;
    for (int64_t c = 0; c < conv->out_channels; ++c) {
      const rt::QuantizedMultiplier m =
          conv->output_stage.multipliers[conv->output_stage.per_channel() ? c : 0];
      for (int64_t i = 0; i < OH * OW; ++i) {
        const auto acc = static_cast<int32_t>(accumulator(*conv, input, {c, i / OW, i % OW}));
        differ += rt::multiply_by_quantized_multiplier(acc, m) != two_step(acc, m);
      }
    }
    std::printf("in this conv's %lld outputs the two roundings differ on %lld\n",
                (long long)runtime_out.numel(), (long long)differ);
    if (test) {
      std::filesystem::remove(path);
      if (!checkpoint_path.empty()) std::filesystem::remove(checkpoint_path);
    }
    if (course::failures() > 0)
      throw std::runtime_error(std::to_string(course::failures()) + " check(s) failed");
    if (test) std::printf("all checks passed\n");
    return 0;
  });
}
