// What `qimport` does: a float ONNX model in, a config file and a float checkpoint out (import_float.h),
// with the tools' rules: no output over an input or over the other output (app/file_roles.h), both files
// written atomically, and a human summary of the layers made.
#pragma once

#include <string>

#include "onnx_io/import_float.h"

namespace qg::onnx_io {

struct ImportJob {
  std::string onnx_path;       ///< --onnx
  std::string config_out;      ///< --out-config: the config JSON
  std::string checkpoint_out;  ///< --out-ckpt: the float checkpoint (as `train` writes)
  ImportOptions options;       ///< --name, --dataset
};

/// Imports, writes both files and returns the summary printed by qimport: one line per layer with the ONNX
/// node(s) it came from, then config::summary's table. Throws app::UsageError (outputs not apart),
/// OnnxError (the model), std::runtime_error (a file that cannot be written).
std::string run_import_job(const ImportJob& job);

}  // namespace qg::onnx_io
