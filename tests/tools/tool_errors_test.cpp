// Every tool, run as a process, answers bad flags, missing files, unwritable outputs, a checkpoint or
// model from another config or bit width, and data of the wrong shape with exactly one line on stderr
// ("<tool>: error: ...") and a non-zero exit code (2 for usage errors, 1 otherwise): never a signal (a
// crash, an abort from an uncaught exception), and never a file left behind. Each case runs in an empty
// working directory, and every output it names is relative, so "nothing left behind" is "the directory
// holds no file afterwards".
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "datasets/digit_images.h"
#include "tools/subprocess.h"

namespace qg::testing {
namespace {

namespace fs = std::filesystem;

/// The files a case may refer to, as {placeholders} in its arguments; the expensive ones (trained
/// checkpoints, a model file) are made only when a case asks for them.
class ToolWorld {
 public:
  ToolWorld() {
    TinyConfig other;
    other.name = "other_cnn";
    world_.write_config(other, "other.json");
    TinyConfig wider;  // same name as tiny.json, other layer sizes: a "model from another config"
    wider.layers = kWideMlpLayers;
    world_.write_config(wider, "wider.json");
    // 270 million parameters (1.0 GiB), each tensor below the 2^28 elements the config loader allows
    TinyConfig huge;
    huge.layers = R"([{"type": "flatten"}, {"type": "linear", "out_features": 320000},
                      {"type": "linear", "out_features": 60}, {"type": "linear", "out_features": 10}])";
    world_.write_config(huge, "huge.json");
    TinyConfig percentile30;  // the percentile observer keeps [100 - p, p]: p must be above 50
    percentile30.percentile = 30;
    world_.write_config(percentile30, "percentile30.json");
    TinyConfig small_input;
    small_input.input_side = 14;
    world_.write_config(small_input, "small_input.json");
    write_mnist_split(SyntheticDigits(64, 21), small_data_, "train", 14);
    write_mnist_split(SyntheticDigits(32, 22), small_data_, "t10k", 14);
    fs::create_directory(world_.file("folder"));
  }

  std::string path(const std::string& key) {
    if (key == "config") return world_.config_path();
    if (key == "other_config") return world_.file("other.json");
    if (key == "wider_config") return world_.file("wider.json");
    if (key == "small_input_config") return world_.file("small_input.json");
    if (key == "percentile30_config") return world_.file("percentile30.json");
    if (key == "huge_config") return world_.file("huge.json");
    if (key == "data") return world_.data.path().string();
    if (key == "small_data") return small_data_.path().string();
    if (key == "missing") return world_.file("no-such-file");
    if (key == "folder") return world_.file("folder");
    if (key == "float_ckpt") return float_checkpoint("tiny.json", "float.ckpt");
    if (key == "other_ckpt") return float_checkpoint("other.json", "other.ckpt");
    if (key == "qat_ckpt") return qat_outputs().first;
    if (key == "model") return qat_outputs().second;
    if (key == "truncated_model") {
      const std::string bytes = util::read_file(qat_outputs().second);
      util::write_file_atomically(world_.file("truncated.qgm"), bytes.substr(0, bytes.size() / 2));
      return world_.file("truncated.qgm");
    }
    if (key == "truncated_png") {
      const std::string png = data::testing::png_bytes(data::testing::drawn_l(240, 20));
      util::write_file_atomically(world_.file("truncated.png"), png.substr(0, png.size() / 2));
      return world_.file("truncated.png");
    }
    if (key == "image_783") {
      util::write_file_atomically(world_.file("image.raw"), std::string(783, '\x10'));
      return world_.file("image.raw");
    }
    // Links to inputs (issue 10, item 5): another name for the config, and a hard link to the float
    // checkpoint.
    if (key == "config_symlink") {
      if (!fs::exists(world_.file("link.json"), ignored_))
        fs::create_symlink(world_.config_path(), world_.file("link.json"));
      return world_.file("link.json");
    }
    if (key == "float_ckpt_hardlink") {
      if (!fs::exists(world_.file("float_link.ckpt")))
        fs::create_hard_link(path("float_ckpt"), world_.file("float_link.ckpt"));
      return world_.file("float_link.ckpt");
    }
    if (key == "train_images") return world_.data.file("train-images-idx3-ubyte");
    // A config that sits where `sweep --out-dir {results}` writes its table.
    if (key == "results") {
      fs::create_directories(world_.file("results"));
      return world_.file("results");
    }
    if (key == "config_in_results") {
      path("results");
      fs::copy_file(world_.config_path(), world_.file("results/tiny_cnn_bn_sweep.md"),
                    fs::copy_options::skip_existing);
      return world_.file("results/tiny_cnn_bn_sweep.md");
    }
    if (key == "readonly") {
      fs::create_directory(world_.file("readonly"));
      fs::permissions(world_.file("readonly"), fs::perms::owner_read | fs::perms::owner_exec);
      return world_.file("readonly");
    }
    throw std::invalid_argument("ToolWorld: no file called {" + key + "}");
  }

  /// Paths of the world's working folder that are temporary files of an interrupted save.
  std::vector<std::string> temp_files() const {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(world_.work.path())) {
      if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path());
    }
    return found;
  }

  ~ToolWorld() {
    std::error_code ignored;  // let TempDir remove the read-only folder
    fs::permissions(world_.file("readonly"), fs::perms::owner_all, ignored);
  }

 private:
  std::string float_checkpoint(const std::string& config, const std::string& name) {
    if (!fs::exists(world_.file(name))) {
      app::TrainJob job;
      job.config_path = world_.file(config);
      job.overrides.epochs = 1;
      job.out = world_.file(name);
      job.quiet = true;
      app::run_train_job(job);
    }
    return world_.file(name);
  }

  std::pair<std::string, std::string> qat_outputs() {
    if (!fs::exists(world_.file("qat.qgm"))) {
      app::QuantJob job;
      job.method = app::QuantMethod::Qat;
      job.config_path = world_.config_path();
      job.from = float_checkpoint("tiny.json", "float.ckpt");
      job.qat_epochs = 1;
      job.out = world_.file("qat.qgm");
      job.checkpoint = world_.file("qat.ckpt");
      job.quiet = true;
      app::run_quant_job(job);
    }
    return {world_.file("qat.ckpt"), world_.file("qat.qgm")};
  }

  TinyWorld world_;
  data::testing::TempDir small_data_;
  std::error_code ignored_;
};

struct ErrorCase {
  std::string name;
  std::string tool;
  std::vector<std::string> args;  // "{key}" is replaced by ToolWorld::path(key)
  int exit_code;                  // 2: usage error, 1: any other error
  std::string expected;           // a part of the error line
};

std::ostream& operator<<(std::ostream& out, const ErrorCase& c) {
  return out << c.name;
}

const std::vector<ErrorCase>& error_cases() {
  // One case per line: the table reads as a table.
  // clang-format off
  static const std::vector<ErrorCase> cases = {

      // ---- bad flags: exit 2 ----
      {"TrainUnknownFlag", "train", {"--config", "{config}", "--bogus", "1"}, 2, "unknown flag --bogus"},
      {"TrainMissingConfigFlag", "train", {"--epochs", "1"}, 2, "missing required flag --config"},
      {"TrainFlagWithoutValue", "train", {"--config"}, 2, "flag --config needs a value"},
      {"TrainNegativeEpochs", "train", {"--config", "{config}", "--epochs", "-1"},
       2, "--epochs expects an integer"},
      {"TrainLearningRateNaN", "train", {"--config", "{config}", "--lr", "nan"}, 2, "--lr expects a number"},
      {"TrainZeroThreads", "train", {"--config", "{config}", "--threads", "0"},
       2, "--threads expects an integer"},
      {"TrainPositionalArgument", "train", {"{config}"}, 2, "unexpected argument"},
      {"TrainFlagGivenTwice", "train", {"--config", "{config}", "--epochs", "1", "--epochs", "2"},
       2, "given twice"},
      {"TrainNegativeCheckpointEvery", "train", {"--config", "{config}", "--checkpoint-every", "-3"},
       2, "--checkpoint-every expects an integer"},
      {"TrainQatBitsOutOfRange", "train_qat", {"--config", "{config}", "--bits", "9"},
       2, "--bits expects an integer in [1, 8]"},
      {"TrainQatFromAndResume", "train_qat", {"--config", "{config}", "--from", "{missing}", "--resume", "{missing}"},
       2, "--from and --resume cannot be combined"},
      {"TrainQatUnknownObserver", "train_qat", {"--config", "{config}", "--observer", "magic", "--out", "m.qgm"},
       1, "observer"},
      {"TrainQatPercentileAtMost50", "train_qat", {"--config", "{percentile30_config}", "--observer", "percentile", "--out", "m.qgm"},
       1, "/quant/percentile: expected a number in (50, 100], found 30"},
      {"TrainQatUnknownMethod", "train_qat", {"--config", "{config}", "--method", "dorefa", "--out", "m.qgm"},
       2, "--method expects one of tutorial, ema, lsq, binary, got \"dorefa\""},
      {"TrainQatPerChannelAndPerTensor", "train_qat",
       {"--config", "{config}", "--per-channel", "--per-tensor", "--out", "m.qgm"}, 2,
       "--per-channel and --per-tensor contradict each other"},
      {"TrainQatBadFreezeEpoch", "train_qat", {"--config", "{config}", "--freeze-bn-epoch", "soon"},
       2, "--freeze-bn-epoch expects an integer"},
      {"TrainQatUnknownSchedule", "train_qat", {"--config", "{config}", "--lr-schedule", "exp", "--out", "m.qgm"},
       1, "/quant/lr_schedule: expected one of constant, step, cosine"},
      {"PtqLearnedMethod", "ptq", {"--config", "{config}", "--method", "lsq"}, 2, "PTQ calibrates observers"},
      {"PtqZeroBatches", "ptq", {"--config", "{config}", "--batches", "0"},
       2, "--batches expects an integer"},
      {"PtqHasNoResume", "ptq", {"--config", "{config}", "--resume", "x.ckpt"}, 2, "unknown flag --resume"},
      {"QinferMissingModelFlag", "qinfer", {"--batch-size", "10"}, 2, "missing required flag --model"},
      {"QinferIndexOutOfRange", "qinfer", {"--model", "{model}", "--data", "{data}", "--index", "64"},
       2, "--index expects an integer in [0, 63]"},
      {"QinferExplainNeedsAnInput", "qinfer", {"--model", "{model}", "--explain", "0:0,0,0"},
       2, "--explain needs an input: --index N (a test image) or --image FILE"},
      {"QinferExplainChannelOutOfRange", "qinfer", {"--model", "{model}", "--explain", "0:9,0,0", "--index", "0"},
       2, "--explain 0:9,0,0: channel 9 is outside [0, 4) of op 0 (conv2d) output [4,26,26]"},
      {"QinferExplainNotAnIndex", "qinfer", {"--model", "{model}", "--explain", "conv", "--index", "0"},
       2, "--explain conv: expected LAYER:C,Y,X, LAYER:J or LAYER:#FLAT"},
      {"QinferDescribeAndExplain", "qinfer", {"--model", "{model}", "--describe", "--explain", "0:0"},
       2, "--describe and --explain cannot be combined"},
      {"QinferConfigWithoutFrom", "qinfer", {"--model", "{model}", "--explain", "0:0,0,0", "--index", "0", "--config", "{config}"},
       2, "--config and --from go together"},
      {"QinferFloatModelWithoutExplain", "qinfer", {"--model", "{model}", "--config", "{config}", "--from", "{float_ckpt}"},
       2, "--config and --from are for --explain"},
      {"SweepBadBitList", "sweep", {"--config", "{config}", "--bits", "0-9"},
       2, "--bits expects integers in [1, 8]"},
      {"SweepBadMethods", "sweep", {"--config", "{config}", "--methods", "fancy"}, 2, "--methods: unknown entry \"fancy\""},
      {"SweepPtqWithEpochs", "sweep", {"--config", "{config}", "--methods", "ptq-ema:3"}, 2, "PTQ trains no epochs"},

      // ---- missing files: exit 1 ----
      {"TrainMissingConfig", "train", {"--config", "{missing}"}, 1, "no-such-file"},
      {"TrainConfigIsAFolder", "train", {"--config", "{folder}"}, 1, "folder"},
      {"TrainHugeModel", "train", {"--config", "{huge_config}", "--out", "x.ckpt"},
       1, "parameters and buffers (1 GiB as float32), more than the limit of 268435456"},
      {"TrainHugeBatch", "train", {"--config", "{config}", "--batch-size", "1000000", "--out", "x.ckpt"},
       1, "/layers/0: its output of 2704 values per image, times a batch of 1000000"},
      {"TrainMissingData", "train", {"--config", "{config}", "--data", "{missing}", "--out", "x.ckpt"},
       1, "cannot find"},
      {"TrainMissingResume", "train", {"--config", "{config}", "--resume", "{missing}", "--out", "x.ckpt"},
       1, "no-such-file"},
      {"TrainQatMissingFrom", "train_qat", {"--config", "{config}", "--from", "{missing}", "--out", "m.qgm"},
       1, "no-such-file"},
      {"TrainQatMissingResume", "train_qat", {"--config", "{config}", "--resume", "{missing}", "--out", "m.qgm"},
       1, "no-such-file"},
      {"PtqMissingFrom", "ptq", {"--config", "{config}", "--from", "{missing}", "--out", "m.qgm"},
       1, "no-such-file"},
      {"QinferMissingModel", "qinfer", {"--model", "{missing}"}, 1, "no-such-file"},
      {"QinferMissingImage", "qinfer", {"--model", "{model}", "--image", "{missing}"}, 1, "no-such-file"},
      {"SweepMissingFrom", "sweep", {"--config", "{config}", "--from", "{missing}", "--out-dir", "results"},
       1, "no-such-file"},

      // ---- unwritable outputs: exit 1, before any work ----
      {"TrainOutInMissingFolder", "train", {"--config", "{config}", "--out", "{missing}/x.ckpt"},
       1, "does not exist"},
      {"TrainOutUnderAFile", "train", {"--config", "{config}", "--out", "{config}/x.ckpt"},
       1, "does not exist"},
      {"TrainOutIsAFolder", "train", {"--config", "{config}", "--out", "{folder}"}, 1, "is a folder"},
      {"TrainOutReadOnly", "train", {"--config", "{config}", "--out", "{readonly}/x.ckpt"},
       1, "is not writable"},
      {"TrainReportInMissingFolder", "train", {"--config", "{config}", "--out", "x.ckpt", "--report", "{missing}/r.json"},
       1, "does not exist"},
      {"TrainQatOutReadOnly", "train_qat", {"--config", "{config}", "--from", "{float_ckpt}", "--out", "{readonly}/m.qgm"},
       1, "is not writable"},
      {"TrainQatCheckpointInMissingFolder", "train_qat", {"--config", "{config}", "--from", "{float_ckpt}", "--out", "m.qgm", "--checkpoint", "{missing}/q.ckpt"},
       1, "does not exist"},
      {"PtqOutInMissingFolder", "ptq", {"--config", "{config}", "--from", "{float_ckpt}", "--out", "{missing}/m.qgm"},
       1, "does not exist"},
      {"QinferReportReadOnly", "qinfer", {"--model", "{model}", "--report", "{readonly}/r.json"},
       1, "is not writable"},
      {"SweepOutDirReadOnly", "sweep", {"--config", "{config}", "--from", "{float_ckpt}", "--out-dir", "{readonly}/results"},
       1, "is not writable"},

      // ---- an output onto an input, or onto another output: exit 2, before any work (issue 10, item 5) ----
      {"PtqOutOntoTheConfig", "ptq", {"--config", "{config}", "--from", "{float_ckpt}", "--out", "{config}"},
       2, "/tiny.json is the same file as --config "},
      {"PtqOutOntoTheFloatCheckpoint", "ptq", {"--config", "{config}", "--from", "{float_ckpt}", "--out", "{float_ckpt}"},
       2, "/float.ckpt is the same file as --from "},
      {"TrainOutOntoADataFile", "train", {"--config", "{config}", "--out", "{train_images}"},
       2, "/train-images-idx3-ubyte is the same file as the data.root file "},
      {"TrainOutThroughASymlinkToTheConfig", "train", {"--config", "{config}", "--out", "{config_symlink}"},
       2, "/link.json is the same file as --config "},
      {"TrainReportThroughAHardLinkToTheResume", "train", {"--config", "{config}", "--resume", "{float_ckpt}", "--out", "x.ckpt", "--report", "{float_ckpt_hardlink}"},
       2, "/float_link.ckpt is the same file as --resume "},
      {"TrainQatCheckpointOntoTheFrom", "train_qat", {"--config", "{config}", "--from", "{float_ckpt}", "--out", "m.qgm", "--checkpoint", "{float_ckpt}"},
       2, "--checkpoint "},
      {"TrainQatReportOntoTheOut", "train_qat", {"--config", "{config}", "--from", "{float_ckpt}", "--out", "m.qgm", "--report", "./m.qgm"},
       2, "--report ./m.qgm is the same file as --out m.qgm: two outputs would overwrite each other"},
      {"QinferReportOntoTheModel", "qinfer", {"--model", "{model}", "--report", "{model}"},
       2, "/qat.qgm is the same file as --model "},
      {"SweepTableOntoTheConfig", "sweep", {"--config", "{config_in_results}", "--from", "{float_ckpt}", "--out-dir", "{results}"},
       2, "the --out-dir file "},

      // ---- a checkpoint or model from another config, kind or bit width: exit 1 ----
      {"TrainResumeFromOtherConfig", "train", {"--config", "{config}", "--resume", "{other_ckpt}", "--out", "x.ckpt"},
       1, "saved from config \"other_cnn\", but this run uses \"tiny_cnn_bn\""},
      {"TrainResumeFromQatCheckpoint", "train", {"--config", "{config}", "--resume", "{qat_ckpt}", "--out", "x.ckpt"},
       1, "a \"qat\" checkpoint, but a \"float\" one is needed here"},
      {"TrainResumeFromModelFile", "train", {"--config", "{config}", "--resume", "{model}", "--out", "x.ckpt"},
       1, "not a quantgrad checkpoint"},
      {"TrainQatFromOtherConfig", "train_qat", {"--config", "{config}", "--from", "{other_ckpt}", "--out", "m.qgm"},
       1, "saved from config \"other_cnn\""},
      {"TrainQatFromSameNameOtherLayers", "train_qat", {"--config", "{wider_config}", "--from", "{float_ckpt}", "--out", "m.qgm"},
       1, "but the model expects [128,784]"},
      {"TrainQatResumeAtOtherBits", "train_qat", {"--config", "{config}", "--resume", "{qat_ckpt}", "--bits", "4", "--out", "m.qgm", "--checkpoint", "q.ckpt"},
       1, "quant.bits = 8, but this run has 4"},
      {"TrainQatResumeWithOtherObserver", "train_qat", {"--config", "{config}", "--resume", "{qat_ckpt}", "--observer", "percentile", "--out", "m.qgm", "--checkpoint", "q.ckpt"},
       1, "quant.observer = \"minmax\""},
      {"TrainQatFromQatCheckpoint", "train_qat", {"--config", "{config}", "--from", "{qat_ckpt}", "--out", "m.qgm"},
       1, "a \"qat\" checkpoint, but a \"float\" one is needed here"},
      {"PtqFromModelFile", "ptq", {"--config", "{config}", "--from", "{model}", "--out", "m.qgm"},
       1, "not a quantgrad checkpoint (bad magic)"},
      {"QinferCheckpointAsModel", "qinfer", {"--model", "{float_ckpt}"}, 1, "magic"},
      {"QinferTruncatedModel", "qinfer", {"--model", "{truncated_model}"}, 1, "load_model"},

      // ---- data of the wrong shape: exit 1, before any training ----
      {"TrainSmallImages", "train", {"--config", "{config}", "--data", "{small_data}", "--out", "x.ckpt"},
       1, "images are 14x14 with 1 channel, i.e. input [1,14,14], but config \"tiny_cnn_bn\" takes input [1,28,28]"},
      {"TrainConfigForSmallImages", "train", {"--config", "{small_input_config}", "--out", "x.ckpt"},
       1, "mnist samples are [1,28,28] but the input shape is [1,14,14]"},
      {"TrainQatSmallImages", "train_qat", {"--config", "{config}", "--from", "{float_ckpt}", "--data", "{small_data}", "--out", "m.qgm"},
       1, "images are 14x14"},
      {"PtqSmallImages", "ptq", {"--config", "{config}", "--from", "{float_ckpt}", "--data", "{small_data}", "--out", "m.qgm"},
       1, "images are 14x14"},
      {"QinferSmallImages", "qinfer", {"--model", "{model}", "--data", "{small_data}"},
       1, "pixels, but the model takes 784"},
      {"QinferImageOfWrongSize", "qinfer", {"--model", "{model}", "--image", "{image_783}"},
       1, "783 bytes, but the model takes 784 pixels"},
      {"QinferImageTruncatedPng", "qinfer", {"--model", "{model}", "--image", "{truncated_png}"},
       1, "/truncated.png: cannot decode the image: "},
      {"SweepSmallImages", "sweep", {"--config", "{config}", "--from", "{float_ckpt}", "--data", "{small_data}", "--out-dir", "results"},
       1, "images are 14x14"},
  };
  // clang-format on
  return cases;
}

class ToolErrors : public ::testing::TestWithParam<ErrorCase> {
 protected:
  std::vector<std::string> expand(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    static const std::regex placeholder(R"(\{([a-z_0-9]+)\})");
    for (const std::string& a : args) {
      std::string expanded;
      auto begin = std::sregex_iterator(a.begin(), a.end(), placeholder);
      size_t last = 0;
      for (auto it = begin; it != std::sregex_iterator(); ++it) {
        expanded += a.substr(last, it->position() - last) + world.path((*it)[1]);
        last = it->position() + it->length();
      }
      out.push_back(expanded + a.substr(last));
    }
    return out;
  }

  ToolWorld world;
  data::testing::TempDir cwd, capture;
};

TEST_P(ToolErrors, OneLineNonZeroExitNothingLeftBehind) {
  const ErrorCase& c = GetParam();
  bool uses_readonly = false;
  for (const std::string& a : c.args)
    uses_readonly |= a.find("{readonly}") != std::string::npos;
  if (uses_readonly && ::geteuid() == 0) GTEST_SKIP() << "root may write into a read-only folder";

  const ProcessResult r = run_tool_process(c.tool, expand(c.args), cwd.path().string(), capture.file("run"));
  ASSERT_TRUE(r.exited) << c.tool << " was killed by signal " << r.signal << "\nstderr: " << r.err;
  EXPECT_EQ(r.exit_code, c.exit_code) << "stderr: " << r.err;
  EXPECT_EQ(r.err.rfind(c.tool + ": error: ", 0), 0u) << "stderr: " << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line on stderr:\n" << r.err;
  EXPECT_NE(r.err.find(c.expected), std::string::npos) << "stderr: " << r.err << "expected: " << c.expected;

  for (const auto& entry : fs::recursive_directory_iterator(cwd.path())) {
    EXPECT_FALSE(entry.is_regular_file()) << "left behind: " << entry.path();
  }
  EXPECT_TRUE(world.temp_files().empty()) << "a temporary file was left behind";
}

INSTANTIATE_TEST_SUITE_P(Cases, ToolErrors, ::testing::ValuesIn(error_cases()),
                         [](const auto& info) { return info.param.name; });

// --help is not an error: usage on stdout, exit 0, for every tool.
TEST(ToolHelp, EveryToolPrintsUsageAndExitsZero) {
  data::testing::TempDir cwd, capture;
  for (const char* tool : {"train", "train_qat", "ptq", "qinfer", "sweep"}) {
    const ProcessResult r = run_tool_process(tool, {"--help"}, cwd.path().string(), capture.file(tool));
    EXPECT_TRUE(r.exited && r.exit_code == 0) << tool << ": " << r.err;
    EXPECT_EQ(r.out.rfind(std::string("usage: ") + tool, 0), 0u) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
}

}  // namespace
}  // namespace qg::testing
