// qexport: writes quantgrad's integer model (a .qgm file from train_qat or ptq) as a standard ONNX file that
// ONNX Runtime runs, or a float model (config + checkpoint) as plain ONNX, and checks that ONNX Runtime
// computes what quantgrad computes (docs/onnx.md).
//
//   build/tools/qexport --model runs/mnist_cnn_ptq_int8.qgm --out mnist_cnn_int8.onnx
//   build/tools/qexport --model M.qgm --out M.onnx --check                 # + agreement on the test set
//   build/tools/qexport --model M.qgm --out M.onnx --check --report agreement.json
//   build/tools/qexport --float --config configs/mnist_cnn.json --from runs/mnist_cnn.ckpt --out F.onnx --check
#include <cstdio>

#include "app/experiment.h"
#include "app/file_roles.h"
#include "app/flags.h"
#include "app/report.h"
#include "config/builder.h"
#include "core/random.h"
#include "datasets/mnist.h"
#include "onnx_io/export_float.h"
#include "onnx_io/export_integer.h"
#include "onnx_io/float_agreement.h"
#include "onnx_io/onnx_agreement.h"
#include "runtime/model_file.h"

namespace {

using namespace qg;
using app::Flags;

const char* const kSummary =
    "Exports an integer-only model file (.qgm) as an ONNX file (opset 13, QLinearConv / QuantizeLinear /\n"
    "DequantizeLinear) that ONNX Runtime runs. The graph's input \"input\" is float32 [N, C, H, W], the\n"
    "normalised values (p/255 - mean)/std the float model sees; its outputs are \"logits\" (float32) and "
    "\"codes\"\n"
    "(the integer model's output codes, uint8 or int8). docs/onnx.md lists what each op becomes.\n"
    "\n"
    "--check then runs the exported file in ONNX Runtime (scripts/get-ort installs it) and quantgrad's "
    "runtime on\n"
    "the model's test set and compares them: argmax agreement, output codes equal / off by one / off by "
    "more,\n"
    "both accuracies. It exits 1 when the agreement is below 99.9 % or a code differs by more than 1.\n"
    "\n"
    "--float --config C --from CKPT exports the float model (a checkpoint from train, or from qimport) as\n"
    "plain ONNX (Conv, Gemm, BatchNormalization, ...; input \"input\", output \"logits\"); with --check it\n"
    "compares the logits on the config's test set and exits 1 when one differs by more than 1e-4.";

constexpr double kMinAgreement = 0.999;
constexpr double kFloatTolerance = 1e-4;

/// The test set of the model's dataset (--data or its default folder), as qinfer finds it.
data::MnistDataset test_set(const runtime::Model& model, const Flags& flags) {
  const std::string dataset = model.metadata.value("dataset", "mnist");
  const std::string root = flags.optional("data").value_or(data::default_root(dataset));
  data::MnistDataset test(data::parse_dataset_kind(dataset), data::Split::kTest, root);
  int64_t sample = 1;
  for (int64_t d : model.input.shape)
    sample *= d;
  if (test.pixels_per_image() != sample) {
    throw std::runtime_error(root + ": images have " + std::to_string(test.pixels_per_image()) +
                             " pixels, but the model takes " + std::to_string(sample));
  }
  return test;
}

void check_flags_need_check(const Flags& flags) {
  if (flags.has("check")) return;
  for (const char* flag : {"data", "test-limit", "threads", "batch-size"}) {
    if (flags.has(flag)) throw app::UsageError(std::string("--") + flag + " is for --check");
  }
}

onnx_io::AgreementOptions agreement_options(const Flags& flags) {
  onnx_io::AgreementOptions options;
  if (flags.has("batch-size")) options.batch = flags.get_int("batch-size", 1, 1 << 20);
  if (flags.has("threads")) options.threads = static_cast<int>(flags.get_int("threads", 1, 64));
  return options;
}

int export_float(const Flags& flags) {
  if (flags.has("model"))
    throw app::UsageError("--model is an integer model: --float exports --config and --from");
  if (!flags.has("config") || !flags.has("from"))
    throw app::UsageError(
        "--float needs --config C and --from CKPT (the float model's config and checkpoint)");
  check_flags_need_check(flags);
  const std::string config_path = flags.get("config"), checkpoint = flags.get("from"), out = flags.get("out");
  std::vector<app::FileRole> outputs{{"--out", out}};
  if (flags.has("report")) outputs.push_back({"--report", flags.get("report")});
  app::check_outputs_apart({{"--config", config_path}, {"--from", checkpoint}}, outputs);
  app::check_writable(out);
  if (flags.has("report")) app::check_writable(flags.get("report"));

  app::Overrides overrides;
  if (flags.has("data")) overrides.data_root = flags.get("data");
  if (flags.has("test-limit")) overrides.test_limit = flags.get_int("test-limit", 1, INT64_MAX);
  const onnx_io::AgreementOptions options =
      agreement_options(flags);  // flag errors before anything is written
  const config::ModelConfig config = app::load_config_with(config_path, overrides);
  Generator gen(config.train.seed);
  const std::shared_ptr<nn::Graph> model = config::build_model(config, gen);
  app::load_training_checkpoint(checkpoint, *model, config.name, "float");
  onnx_io::export_float_model(config, *model, out);
  std::printf("%s + %s -> %s (float, %zu layers)\n", config_path.c_str(), checkpoint.c_str(), out.c_str(),
              config.layers.size());
  nlohmann::json report = {
      {"tool", "qexport"}, {"float", true}, {"config", config_path}, {"from", checkpoint}, {"onnx", out}};
  if (!flags.has("check")) {
    if (flags.has("report")) app::write_report(flags.get("report"), report);
    return 0;
  }
  const data::MnistDataset test = app::load_dataset(config.data, data::Split::kTest, overrides);
  app::check_data_fits(config, test);
  const onnx_io::FloatAgreementReport agreement =
      onnx_io::compare_float_with_onnx_runtime(*model, out, test, -1, options);
  std::printf("%s", agreement.text().c_str());
  report["check"] = agreement.to_json();
  report["check"]["tolerance"] = kFloatTolerance;
  report["check"]["passed"] = agreement.passes(kFloatTolerance);
  if (flags.has("report")) app::write_report(flags.get("report"), report);
  if (!agreement.passes(kFloatTolerance)) {
    std::fprintf(stderr, "qexport: check failed: a logit differs by %.3g (more than %.0e)\n",
                 agreement.max_abs_difference, kFloatTolerance);
    return 1;
  }
  std::printf("Check passed (every logit within %.0e)\n", kFloatTolerance);
  return 0;
}

int export_integer(const Flags& flags) {
  for (const char* flag : {"config", "from"}) {
    if (flags.has(flag)) throw app::UsageError(std::string("--") + flag + " needs --float");
  }
  check_flags_need_check(flags);
  const std::string model_path = flags.get("model");
  const std::string out = flags.get("out");
  std::vector<app::FileRole> outputs{{"--out", out}};
  if (flags.has("report")) outputs.push_back({"--report", flags.get("report")});
  app::check_outputs_apart({{"--model", model_path}}, outputs);
  app::check_writable(out);
  if (flags.has("report")) app::check_writable(flags.get("report"));

  // Flag errors before anything is written.
  const int64_t limit = flags.has("test-limit") ? flags.get_int("test-limit", 1, INT64_MAX) : -1;
  const onnx_io::AgreementOptions options = agreement_options(flags);
  const runtime::Model model = runtime::load_model(model_path);
  const onnx_io::IntegerExport exported = onnx_io::export_integer_model(model, out, {.source = model_path});
  std::printf("%s -> %s\n%s", model_path.c_str(), out.c_str(),
              onnx_io::export_summary_text(exported).c_str());
  nlohmann::json report = {{"tool", "qexport"},
                           {"model", model_path},
                           {"onnx", out},
                           {"nodes", exported.nodes},
                           {"qdq_layers", exported.qdq_layers}};
  if (!flags.has("check")) {
    if (flags.has("report")) app::write_report(flags.get("report"), report);
    return 0;
  }
  const data::MnistDataset test = test_set(model, flags);
  const onnx_io::AgreementReport agreement =
      onnx_io::compare_with_onnx_runtime(model, out, test, limit, options);
  std::printf("%s", agreement.text().c_str());
  report["check"] = agreement.to_json();
  report["check"]["batch_size"] = options.batch;
  report["check"]["threads"] = options.threads;
  report["check"]["min_agreement"] = kMinAgreement;
  report["check"]["passed"] = agreement.passes(kMinAgreement);
  if (flags.has("report")) app::write_report(flags.get("report"), report);
  if (!agreement.passes(kMinAgreement)) {
    std::fprintf(stderr, "qexport: check failed: %s\n",
                 agreement.codes_off_more ? "an output code differs by more than 1"
                                          : "argmax agreement is below 99.9 %");
    return 1;
  }
  std::printf("Check passed (agreement >= 99.9 %%, codes within 1)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_tool("qexport", [&] {
    Flags flags(
        "qexport", kSummary,
        {{"model", "M", "integer model file (.qgm) to export"},
         {"out", "FILE", "the ONNX file to write (required)"},
         {"check", "", "run the export in ONNX Runtime and quantgrad's runtime on the test set and compare"},
         {"data", "DIR", "with --check: dataset folder (default: the model file's dataset, or the config's)"},
         {"test-limit", "N", "with --check: the first N test images only (default: all)"},
         {"batch-size", "B", "with --check: images per run on either side (default 64)"},
         {"threads", "T", "with --check: threads on either side (default 1)"},
         {"report", "FILE", "write a JSON report (the export and the --check numbers)"},
         {"float", "", "export the float model of --config and --from as plain ONNX instead"},
         {"config", "C", "with --float: the float model's config"},
         {"from", "CKPT", "with --float: the float model's checkpoint"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    if (!flags.has("out")) throw app::UsageError("--out FILE is required (the ONNX file to write)");
    if (flags.has("float")) return export_float(flags);
    if (!flags.has("model")) throw app::UsageError("--model M is required (the integer model to export)");
    return export_integer(flags);
  });
}
