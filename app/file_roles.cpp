#include "app/file_roles.h"

#include <filesystem>

#include "app/flags.h"
#include "app/quantize_job.h"
#include "datasets/mnist.h"

namespace qg::app {

namespace fs = std::filesystem;

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  // An output not written yet: where it would be written. (A dangling link counts as its target's path.)
  const fs::path pa = fs::weakly_canonical(fs::absolute(a), ec);
  const fs::path pb = fs::weakly_canonical(fs::absolute(b), ec);
  return !ec && pa == pb;
}

namespace {

std::string describe(const FileRole& role) {
  return role.what + " " + role.path;
}

}  // namespace

void check_outputs_apart(const std::vector<FileRole>& inputs, const std::vector<FileRole>& outputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    for (const FileRole& input : inputs) {
      if (same_file(outputs[o].path, input.path)) {
        throw UsageError(describe(outputs[o]) + " is the same file as " + describe(input) +
                         ": a tool never writes over a file it reads; choose another path");
      }
    }
    for (size_t other = 0; other < o; ++other) {
      if (same_file(outputs[o].path, outputs[other].path)) {
        throw UsageError(describe(outputs[o]) + " is the same file as " + describe(outputs[other]) +
                         ": two outputs would overwrite each other; choose another path");
      }
    }
  }
}

std::vector<FileRole> dataset_inputs(const config::DataConfig& data, const std::string& flag,
                                     bool train_split) {
  const data::DatasetKind kind = data::parse_dataset_kind(data.dataset);
  const std::string root = data.root.empty() ? data::default_root(kind) : data.root;
  std::vector<FileRole> files;
  for (const data::Split split : {data::Split::kTrain, data::Split::kTest}) {
    if (split == data::Split::kTrain && !train_split) continue;
    for (const std::string& path : data::split_files(kind, split, root))
      files.push_back({"the " + flag + " file", path});
  }
  return files;
}

std::vector<FileRole> run_inputs(const std::string& config_path, const config::ModelConfig& config,
                                 bool data_flag, bool train_split) {
  std::vector<FileRole> inputs{{"--config", config_path}};
  for (FileRole& file : dataset_inputs(config.data, data_flag ? "--data" : "data.root", train_split))
    inputs.push_back(std::move(file));
  return inputs;
}

void check_quant_job_files(const QuantJob& job, const config::ModelConfig& config, const std::string& out,
                           const std::string& qat_checkpoint, const std::string& resume_kind) {
  std::vector<FileRole> inputs = run_inputs(job.config_path, config, job.overrides.data_root.has_value());
  std::vector<FileRole> outputs{{job.out.empty() ? "the model file" : "--out", out}};
  if (!qat_checkpoint.empty())
    outputs.push_back({job.checkpoint.empty() ? "the QAT checkpoint" : "--checkpoint", qat_checkpoint});
  if (job.report) outputs.push_back({"--report", *job.report});
  if (job.from) inputs.push_back({"--from", *job.from});
  if (job.resume && resume_kind == "float") {
    outputs.push_back({"--resume (whose float training it continues)", *job.resume});
  } else if (job.resume && !(resume_kind == "qat" && same_file(*job.resume, qat_checkpoint))) {
    inputs.push_back({"--resume", *job.resume});
  }
  if (!job.from && !job.resume) {
    outputs.push_back({"the float checkpoint (trained first: no --from)", "runs/" + config.name + ".ckpt"});
  }
  check_outputs_apart(inputs, outputs);
}

}  // namespace qg::app
