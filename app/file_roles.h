// Outputs never overwrite inputs (issue 10, item 5).
//
// Each tool lists the files it reads and the files it writes, each with the flag (or setting) that names
// it, and check_outputs_apart refuses, before any work, an output that is an input or another output:
// the same path, or the same file reached through a symbolic or a hard link. So `ptq --out` cannot replace
// the config or the float checkpoint, nor `train --out` a dataset file, and a default output never lands
// on an input (train_qat's QAT checkpoint defaults to `<out>.qat.ckpt`, not `<out>.ckpt`, which is where
// `train --out net.ckpt` puts the float checkpoint it starts from).
//
// The one output that may be an input is the training checkpoint a resumed run continues (`train --resume
// X` writes X; `train_qat --resume X` continues the QAT or float checkpoint X): the jobs leave it out of
// their inputs.
#pragma once

#include <string>
#include <vector>

#include "config/model_config.h"

namespace qg::app {

/// A file a tool reads or writes, and what names it: "--out", "--config", "the float checkpoint", ...
struct FileRole {
  std::string what;
  std::string path;
};

/// Whether `a` and `b` are the same file: std::filesystem::equivalent when both exist (symbolic and hard
/// links included), else the same path once the "." and ".." steps and the symbolic links of its folders
/// are resolved.
bool same_file(const std::string& a, const std::string& b);

/// Throws UsageError (app/flags.h) naming both when an output is the same file as an input, or as another
/// output: "--out net.ckpt is --config net.ckpt: a tool never writes over a file it reads".
void check_outputs_apart(const std::vector<FileRole>& inputs, const std::vector<FileRole>& outputs);

/// --config and the dataset files a run of `config` reads (both splits, or only the test split); the
/// dataset is named "--data" when that flag was given, else "data.root".
std::vector<FileRole> run_inputs(const std::string& config_path, const config::ModelConfig& config,
                                 bool data_flag, bool train_split = true);

struct QuantJob;
/// The files of a train_qat or ptq job (run_quant_job), checked with check_outputs_apart: `out` and
/// `qat_checkpoint` are the job's resolved outputs, `resume_kind` the kind of its --resume checkpoint
/// ("qat", "float" or ""). A QAT checkpoint that --resume continues, and a float one whose training it
/// continues, are outputs of the run, not inputs.
void check_quant_job_files(const QuantJob& job, const config::ModelConfig& config, const std::string& out,
                           const std::string& qat_checkpoint, const std::string& resume_kind);

/// The dataset files a run of `data` reads (both splits, or only the test split), named after `flag`
/// ("--data" when it was given, else the config's data.root). Throws as the dataset does when one is
/// missing.
std::vector<FileRole> dataset_inputs(const config::DataConfig& data, const std::string& flag,
                                     bool train_split);

}  // namespace qg::app
