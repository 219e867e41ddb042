// Checkpoints: named float tensors plus free-form JSON metadata in one self-checking file.
//
// The file container (util/container.h; documented in docs/checkpoint.md) with magic "QGCKPT\0\1", format
// version 2, and the header JSON
//     {"metadata": {...}, "tensors": [{"name", "dtype": "f32", "shape", "offset", "nbytes"}, ...]}
// whose offsets are relative to the start of the data section, which holds the tensors' float32 values,
// row-major. Version-1 checkpoints (written before the container: the same header, FNV-1a 64 checksum)
// still load. Files are written atomically (util/atomic_file.h). Loading validates the whole file before
// anything is copied into a model, so a bad file never leaves a model half-loaded.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "nn/module.h"

namespace qg::nn {

struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Checkpoint {
  NamedTensors tensors;
  nlohmann::json metadata = nlohmann::json::object();

  /// The tensor called `name`, or an undefined Tensor.
  Tensor find(const std::string& name) const;
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
/// Throws CheckpointError naming the path and what is wrong (truncated, bad magic, checksum, ...).
Checkpoint load_checkpoint(const std::string& path);

/// Copies tensors whose names start with `prefix` into `target` (by name minus the prefix). Strict: every
/// target name must be present with the same shape, and no extra names may exist under the prefix. All
/// checks run before any copy. `what` names the source in error messages.
void copy_state(const Checkpoint& source, const std::string& prefix, const NamedTensors& target,
                const std::string& what);

/// Saves a module's parameters and buffers (with `metadata`).
void save_module(const std::string& path, const Module& module, const nlohmann::json& metadata = {});
/// Loads a checkpoint saved by save_module into `module` (strict, all-or-nothing).
void load_module(const std::string& path, Module& module);

}  // namespace qg::nn
