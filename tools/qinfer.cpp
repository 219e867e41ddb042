// qinfer: runs an integer-only model file (from train_qat or ptq) through the integer runtime; no float
// model and no autograd take part.
//
//   build/tools/qinfer --model runs/mnist_cnn_qat_int8.qgm                 # MNIST test-set accuracy
//   build/tools/qinfer --model M --index 7                                 # one test image: logits
//   build/tools/qinfer --model M --image digit.raw                         # 784 raw bytes, row-major
#include <chrono>
#include <cstdio>
#include <fstream>

#include "app/file_roles.h"
#include "app/flags.h"
#include "app/quantize_job.h"
#include "app/report.h"
#include "runtime/model_file.h"
#include "runtime/run.h"
#include "util/atomic_file.h"

namespace {

using namespace qg;

void print_logits(const runtime::Model& model, std::span<const uint8_t> pixels, runtime::RequantMode mode) {
  const runtime::IntTensor codes =
      runtime::run(model, runtime::quantize_pixels(model, pixels), {.mode = mode});
  const std::vector<float> reals = runtime::dequantize(model, codes);
  std::printf("class  integer logit  real value\n");
  for (size_t k = 0; k < reals.size(); ++k)
    std::printf("%5zu  %13d  %10.4f\n", k, codes.data[k], reals[k]);
  std::printf("predicted class: %lld\n", static_cast<long long>(runtime::predict(codes)[0]));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qg::app;
  return run_tool("qinfer", [&] {
    Flags flags(
        "qinfer", "Evaluates an integer-only model file, or classifies one image with it.",
        {{"model", "M", "integer model file (required)"},
         {"data", "DIR", "dataset folder (default: the dataset named in the model file)"},
         {"batch-size", "B", "images per run() call (default 1000)"},
         {"threads", "T", "threads that split each batch (default 1)"},
         {"index", "I", "classify test image I and print its integer logits"},
         {"image", "FILE", "classify a raw image file (one byte per pixel) and print its logits"},
         {"float-reference", "", "requantize with the tutorial's float simulation instead of integers"},
         {"report", "FILE", "write a JSON report"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    const std::string path = flags.get("model");
    if (flags.has("report")) check_writable(flags.get("report"));
    const runtime::Model model = runtime::load_model(path);
    const std::string dataset = model.metadata.value("dataset", "mnist");
    const std::string root = flags.optional("data").value_or(data::default_root(dataset));
    if (flags.has("report")) {  // the report never replaces the model, the image or a test file
      const std::vector<FileRole> report{{"--report", flags.get("report")}};
      std::vector<FileRole> inputs{{"--model", path}};
      if (flags.has("image")) inputs.push_back({"--image", flags.get("image")});
      check_outputs_apart(inputs, report);
      if (!flags.has("image")) {
        inputs.clear();
        for (const std::string& file :
             data::split_files(data::parse_dataset_kind(dataset), data::Split::kTest, root))
          inputs.push_back({flags.has("data") ? "the --data file" : "the test file", file});
        check_outputs_apart(inputs, report);
      }
    }
    const auto mode =
        flags.has("float-reference") ? runtime::RequantMode::FloatReference : runtime::RequantMode::Integer;
    int64_t sample = 1;  // pixels per image
    for (int64_t d : model.input.shape)
      sample *= d;

    if (flags.has("image")) {
      const std::string bytes = util::read_file(flags.get("image"), 1 << 24);
      if (static_cast<int64_t>(bytes.size()) != sample) {
        throw std::runtime_error(flags.get("image") + ": " + std::to_string(bytes.size()) +
                                 " bytes, but the model takes " + std::to_string(sample) +
                                 " pixels per image");
      }
      print_logits(model, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, mode);
      return 0;
    }

    const data::MnistDataset test(data::parse_dataset_kind(dataset), data::Split::kTest, root);
    if (test.pixels_per_image() != sample) {
      throw std::runtime_error(root + ": images have " + std::to_string(test.pixels_per_image()) +
                               " pixels, but the model takes " + std::to_string(sample));
    }
    if (flags.has("index")) {
      const int64_t i = flags.get_int("index", 0, test.size() - 1);
      std::printf("test image %lld, label %lld\n", static_cast<long long>(i),
                  static_cast<long long>(test.label(i)));
      print_logits(model, {test.image(i), static_cast<size_t>(sample)}, mode);
      return 0;
    }
    const int64_t batch = flags.has("batch-size") ? flags.get_int("batch-size", 1, 1 << 20) : 1000;
    const int threads = flags.has("threads") ? static_cast<int>(flags.get_int("threads", 1, 64)) : 1;
    const IntegerEval eval = evaluate_integer(model, test, batch, threads, mode);
    std::printf(
        "Test set: Quant Model Accuracy: %.2f%%  (%s; %lld images, %.0f images/s, batch %lld, %d thread%s)\n",
        100.0 * eval.accuracy,
        mode == runtime::RequantMode::Integer ? "integer-only" : "float-reference requantization",
        static_cast<long long>(test.size()), eval.images_per_second, static_cast<long long>(batch), threads,
        threads == 1 ? "" : "s");
    const runtime::ModelPlan plan = runtime::plan_model(model);
    const nlohmann::json memory = {{"peak_bytes_per_sample", plan.peak_activation_bytes()},
                                   {"peak_bytes_per_batch", plan.peak_activation_bytes(batch)},
                                   {"buffers", plan.buffers.buffers()},
                                   {"buffer_bytes_per_thread", plan.buffers.bytes()}};
    std::printf(
        "Activation memory: peak %.1f KiB per sample, %.1f MiB for a batch of %lld; run() reuses %zu "
        "buffers of %.1f KiB per thread\n",
        plan.peak_activation_bytes() / 1024.0, plan.peak_activation_bytes(batch) / (1024.0 * 1024.0),
        static_cast<long long>(batch), plan.buffers.buffers(), plan.buffers.bytes() / 1024.0);
    if (flags.has("report")) {
      write_report(flags.get("report"),
                   {{"tool", "qinfer"},
                    {"model", path},
                    {"test_accuracy", eval.accuracy},
                    {"images", test.size()},
                    {"images_per_second", eval.images_per_second},
                    {"batch_size", batch},
                    {"threads", threads},
                    {"mode", mode == runtime::RequantMode::Integer ? "integer" : "float-reference"},
                    {"activation_memory", memory},
                    {"peak_rss_mb", peak_rss_mb()}});
    }
    return 0;
  });
}
