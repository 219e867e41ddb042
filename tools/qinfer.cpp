// qinfer: runs an integer-only model file (from train_qat or ptq) through the integer runtime; no float
// model and no autograd take part. It also looks inside the model: every layer's numbers (--describe), and
// one output element derived step by step and checked against the runtime (--explain).
//
//   build/tools/qinfer --model runs/mnist_cnn_qat_int8.qgm                 # MNIST test-set accuracy
//   build/tools/qinfer --model M --index 7                                 # one test image: logits
//   build/tools/qinfer --model M --image digit.png                         # a PNG/PGM, or 784 raw bytes
//   build/tools/qinfer --model M --describe                                # every layer's S, Z, M0, shift...
//   build/tools/qinfer --model M --explain 0:3,10,12 --index 7             # one element, step by step
#include <chrono>
#include <cstdio>
#include <fstream>

#include "app/experiment.h"
#include "app/file_roles.h"
#include "app/flags.h"
#include "app/quantize_job.h"
#include "app/report.h"
#include "autograd/grad_mode.h"
#include "config/builder.h"
#include "datasets/image.h"
#include "runtime/describe.h"
#include "runtime/explain.h"
#include "runtime/model_file.h"
#include "runtime/run.h"
#include "util/atomic_file.h"

namespace {

using namespace qg;
using app::Flags;

const char* const kSummary =
    "Evaluates an integer-only model file, classifies one image with it, or shows what is inside it.\n"
    "\n"
    "--explain INDEX names one output element of one op (layer), numbered as --describe numbers them:\n"
    "  LAYER:C,Y,X   channel C, row Y, column X of an op with a [C,H,W] output   (e.g. 0:3,10,12)\n"
    "  LAYER:J       element J of an op with a flat [F] output                   (e.g. 5:7)\n"
    "  LAYER:#FLAT   the FLAT-th element of any output, channel-major            (e.g. 0:#100)\n"
    "It derives that element for one input (--index N of the test set, or --image FILE) with the runtime's\n"
    "own integer functions and checks it equals what the runtime computes (exit 1 if not). With --config C\n"
    "--from CKPT it also prints the float model's value when the element is one of the model's outputs.\n"
    "--image reads a PNG or binary PGM/PPM of any size (made MNIST-like: gray, white on black, cropped,\n"
    "scaled to fit 20x20, centred by mass in 28x28) or a file of exactly 784 raw bytes, row-major.";

runtime::RequantMode requant_mode(const Flags& flags) {
  return flags.has("float-reference") ? runtime::RequantMode::FloatReference : runtime::RequantMode::Integer;
}

int64_t pixels_per_sample(const runtime::Model& model) {
  int64_t sample = 1;
  for (int64_t d : model.input.shape)
    sample *= d;
  return sample;
}

void print_logits(const runtime::Model& model, std::span<const uint8_t> pixels, runtime::RequantMode mode) {
  const runtime::IntTensor codes =
      runtime::run(model, runtime::quantize_pixels(model, pixels), {.mode = mode});
  const std::vector<float> reals = runtime::dequantize(model, codes);
  std::printf("class  integer logit  real value\n");
  for (size_t k = 0; k < reals.size(); ++k)
    std::printf("%5zu  %13d  %10.4f\n", k, codes.data[k], reals[k]);
  std::printf("predicted class: %lld\n", static_cast<long long>(runtime::predict(codes)[0]));
}

/// The test set of the model's dataset (--data or its default folder), checked to fit the model.
data::MnistDataset test_set(const runtime::Model& model, const Flags& flags) {
  const std::string dataset = model.metadata.value("dataset", "mnist");
  const std::string root = flags.optional("data").value_or(data::default_root(dataset));
  data::MnistDataset test(data::parse_dataset_kind(dataset), data::Split::kTest, root);
  if (test.pixels_per_image() != pixels_per_sample(model)) {
    throw std::runtime_error(root + ": images have " + std::to_string(test.pixels_per_image()) +
                             " pixels, but the model takes " + std::to_string(pixels_per_sample(model)));
  }
  return test;
}

/// The report never replaces the model, the image or a test file.
void check_report_apart(const Flags& flags, const runtime::Model& model, const std::string& path) {
  const std::vector<app::FileRole> report{{"--report", flags.get("report")}};
  std::vector<app::FileRole> inputs{{"--model", path}};
  for (const char* input : {"image", "config", "from"}) {
    if (flags.has(input)) inputs.push_back({std::string("--") + input, flags.get(input)});
  }
  app::check_outputs_apart(inputs, report);
  if (flags.has("image") || flags.has("describe")) return;
  const std::string dataset = model.metadata.value("dataset", "mnist");
  const std::string root = flags.optional("data").value_or(data::default_root(dataset));
  inputs.clear();
  for (const std::string& file :
       data::split_files(data::parse_dataset_kind(dataset), data::Split::kTest, root))
    inputs.push_back({flags.has("data") ? "the --data file" : "the test file", file});
  app::check_outputs_apart(inputs, report);
}

/// The pixels of the one image --image or --index names, after printing where they come from.
std::vector<uint8_t> one_image(const runtime::Model& model, const Flags& flags) {
  if (flags.has("image")) {
    const data::ImageInput input = data::read_image_input(flags.get("image"), pixels_per_sample(model));
    if (input.preprocessing) std::printf("%s", data::preprocessing_text(*input.preprocessing).c_str());
    return input.pixels;
  }
  const data::MnistDataset test = test_set(model, flags);
  const int64_t i = flags.get_int("index", 0, test.size() - 1);
  std::printf("test image %lld, label %lld\n", static_cast<long long>(i),
              static_cast<long long>(test.label(i)));
  const uint8_t* image = test.image(i);
  return {image, image + pixels_per_sample(model)};
}

/// The float model's outputs for one image (--config C --from CKPT), normalised as the data loader does: what
/// the integer model's output stands for. Computed here in the tool, so that the runtime never depends on the
/// float side. Only the model output is compared: the integer ops do not record which float layers (a conv,
/// its folded BatchNorm, its fused ReLU) each came from.
std::vector<float> float_outputs(const runtime::Model& model, const Flags& flags,
                                 std::vector<uint8_t> pixels) {
  const config::ModelConfig config = app::load_config_with(flags.get("config"), {});
  Generator generator(config.train.seed);
  const std::shared_ptr<nn::Graph> net = config::build_model(config, generator);
  app::load_training_checkpoint(flags.get("from"), *net, config.name);
  net->eval();
  NoGradGuard no_grad;
  const auto kind = data::parse_dataset_kind(model.metadata.value("dataset", "mnist"));
  const data::MnistDataset one(std::move(pixels), {0}, model.input.shape.at(1), model.input.shape.at(2),
                               data::default_normalization(kind));
  return (*net)(data::make_batch(one, 0, 1).images).to_vector();
}

void print_float_value(const runtime::Model& model, const Flags& flags, const std::vector<uint8_t>& pixels,
                       const runtime::Explanation& e) {
  if (e.element.op + 1 != model.ops.size()) {
    std::printf("float model: compared at the model output (op %zu) only\n", model.ops.size() - 1);
    return;
  }
  const std::vector<float> outputs = float_outputs(model, flags, pixels);
  if (static_cast<int64_t>(outputs.size()) !=
      runtime::checked_numel(runtime::plan_model(model).output().shape, "output")) {
    throw std::runtime_error(flags.get("config") + ": the float model has " + std::to_string(outputs.size()) +
                             " outputs, the integer model " + flags.get("model") + " a different number");
  }
  std::printf("float model (--config, --from) at this output: %.6g; the integer model's real value: %.6g\n",
              outputs[static_cast<size_t>(e.element.flat)], e.real);
}

int describe(const runtime::Model& model, const Flags& flags, const std::string& path) {
  const std::vector<runtime::NodeDescription> nodes = runtime::describe_model(model);
  std::printf("%s", runtime::describe_text(model, nodes).c_str());
  if (flags.has("report")) {
    app::write_report(
        flags.get("report"),
        {{"tool", "qinfer"}, {"model", path}, {"describe", runtime::describe_json(model, nodes)}});
  }
  return 0;
}

int explain(const runtime::Model& model, const Flags& flags, const std::string& path) {
  if (!flags.has("image") && !flags.has("index"))
    throw app::UsageError("--explain needs an input: --index N (a test image) or --image FILE");
  if (flags.has("config") != flags.has("from"))
    throw app::UsageError("--config and --from go together: the float model to compare with");
  runtime::ElementIndex element;
  try {
    element = runtime::parse_element_index(flags.get("explain"), model);
  } catch (const std::invalid_argument& e) {
    throw app::UsageError(e.what());
  }
  const std::vector<uint8_t> pixels = one_image(model, flags);
  const runtime::Explanation e =
      runtime::explain_element(model, runtime::quantize_pixels(model, pixels), element, requant_mode(flags));
  std::printf("%s", runtime::explanation_text(e).c_str());
  if (flags.has("config")) print_float_value(model, flags, pixels, e);
  if (flags.has("report")) {
    app::write_report(flags.get("report"),
                      {{"tool", "qinfer"}, {"model", path}, {"explain", runtime::explanation_json(e)}});
  }
  if (!e.matches()) {
    throw std::runtime_error("explain: the derivation gives code " + std::to_string(e.derived) +
                             " but the runtime computed " + std::to_string(e.runtime));
  }
  return 0;
}

int evaluate(const runtime::Model& model, const Flags& flags, const std::string& path) {
  const data::MnistDataset test = test_set(model, flags);
  const auto mode = requant_mode(flags);
  const int64_t batch = flags.has("batch-size") ? flags.get_int("batch-size", 1, 1 << 20) : 1000;
  const int threads = flags.has("threads") ? static_cast<int>(flags.get_int("threads", 1, 64)) : 1;
  const app::IntegerEval eval = app::evaluate_integer(model, test, batch, threads, mode);
  std::printf(
      "Test set: Quant Model Accuracy: %.2f%%  (%s; %lld images, %.0f images/s, batch %lld, %d thread%s)\n",
      100.0 * eval.accuracy,
      mode == runtime::RequantMode::Integer ? "integer-only" : "float-reference requantization",
      static_cast<long long>(test.size()), eval.images_per_second, static_cast<long long>(batch), threads,
      threads == 1 ? "" : "s");
  const runtime::ModelPlan plan = runtime::plan_model(model);
  const runtime::RunBuffers buffers = runtime::run_buffers(model, {.mode = mode, .threads = threads});
  const nlohmann::json memory = {{"peak_bytes_per_sample", plan.peak_activation_bytes()},
                                 {"peak_bytes_per_batch", plan.peak_activation_bytes(batch)},
                                 {"buffers", buffers.buffers},
                                 {"buffer_bytes_per_thread", buffers.bytes},
                                 {"samples_per_block", buffers.samples_per_block}};
  std::printf(
      "Activation memory: peak %.1f KiB per sample, %.1f MiB for a batch of %lld; run() reuses %zu "
      "buffers of %.1f KiB per thread%s\n",
      plan.peak_activation_bytes() / 1024.0, plan.peak_activation_bytes(batch) / (1024.0 * 1024.0),
      static_cast<long long>(batch), buffers.buffers, buffers.bytes / 1024.0,
      buffers.samples_per_block > 1
          ? (" (blocks of " + std::to_string(buffers.samples_per_block) + " samples)").c_str()
          : "");
  if (flags.has("report")) {
    app::write_report(flags.get("report"),
                      {{"tool", "qinfer"},
                       {"model", path},
                       {"test_accuracy", eval.accuracy},
                       {"images", test.size()},
                       {"images_per_second", eval.images_per_second},
                       {"batch_size", batch},
                       {"threads", threads},
                       {"mode", mode == runtime::RequantMode::Integer ? "integer" : "float-reference"},
                       {"activation_memory", memory},
                       {"peak_rss_mb", app::peak_rss_mb()}});
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_tool("qinfer", [&] {
    Flags flags(
        "qinfer", kSummary,
        {{"model", "M", "integer model file (required)"},
         {"data", "DIR", "dataset folder (default: the dataset named in the model file)"},
         {"batch-size", "B", "images per run() call (default 1000)"},
         {"threads", "T", "threads that split each batch (default 1)"},
         {"index", "I", "classify test image I and print its integer logits (or the input of --explain)"},
         {"image", "FILE", "classify a PNG/PGM/PPM image or 784 raw bytes (or the input of --explain)"},
         {"describe", "",
          "print every layer: shapes, S and Z, M = S_in*S_w/S_out, M0 and shift, clamp, "
          "weight codes used, int32 accumulator bound"},
         {"explain", "INDEX", "derive one output element step by step (INDEX: see above)"},
         {"config", "C", "with --explain and --from: the float model's config, to show its value"},
         {"from", "CKPT", "with --explain and --config: the float model's checkpoint"},
         {"float-reference", "", "requantize with the tutorial's float simulation instead of integers"},
         {"report", "FILE", "write a JSON report (of the evaluation, --describe or --explain)"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    if (flags.has("describe") && flags.has("explain"))
      throw app::UsageError("--describe and --explain cannot be combined");
    if ((flags.has("config") || flags.has("from")) && !flags.has("explain"))
      throw app::UsageError("--config and --from are for --explain (the float model to compare with)");
    const std::string path = flags.get("model");
    if (flags.has("report")) app::check_writable(flags.get("report"));
    const runtime::Model model = runtime::load_model(path);
    if (flags.has("report")) check_report_apart(flags, model, path);
    if (flags.has("describe")) return describe(model, flags, path);
    if (flags.has("explain")) return explain(model, flags, path);
    if (flags.has("image") || flags.has("index")) {
      print_logits(model, one_image(model, flags), requant_mode(flags));
      return 0;
    }
    return evaluate(model, flags, path);
  });
}
