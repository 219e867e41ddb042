// The model file: a Model in the file container (util/container.h): magic "QGMODEL\0", format version 1,
// 2 for a model with a mul_add op, or 3 for a graph (an op that reads other values than the one before it)
// or a model with an add, concat or clip op (this build reads all three and writes the lowest that holds the
// model, so a chain of the older ops is written byte for byte as before), the header JSON of model_json.h
// and the tensor data (int32 little-endian biases, weight codes packed at their bit width), CRC-32 checked.
//
// load_model() checks the container's frame (magic, size, version, reserved field, lengths, checksum,
// JSON syntax and nesting), then every field of the header (by JSON path), every tensor's bounds, size
// and codes, and finally the model itself (shapes and quantization chained from op to op). Sizes from
// the file are compared with the file's real size before anything is allocated from them.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "util/container.h"

namespace qg::runtime {

/// The newest format version this build reads and writes. Version 2 added the op mul_add (nothing else
/// changed); version 3 added graphs (an op's "inputs") and the ops add, concat and clip. A model needing
/// neither is still written as version 1, which older readers read.
inline constexpr uint32_t kModelFormatVersion = 3;
/// The format version that introduced graphs: ops that read other values than the one just before them.
inline constexpr uint32_t kGraphFormatVersion = 3;
inline constexpr util::ContainerFormat kModelFileFormat{
    {'Q', 'G', 'M', 'O', 'D', 'E', 'L', '\0'}, "model file", 1, kModelFormatVersion};

/// Every load/save failure: what() starts with "load_model: <path>: " or "save_model: <path>: ".
class ModelFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The lowest format version that can hold `model`: the largest kFormatVersion of its ops (2 for mul_add, 3
/// for add, concat and clip), at least kGraphFormatVersion if an op does not read the value before it;
/// else 1.
uint32_t required_format_version(const Model& model);

/// The complete file contents for `model` (validated first; throws std::invalid_argument if invalid).
std::vector<uint8_t> serialize_model(const Model& model);

/// Parses and validates file contents; `source` names them in errors (a path, or "<memory>").
/// Throws ModelFileError.
Model deserialize_model(std::span<const uint8_t> bytes, const std::string& source = "<memory>");

/// Writes atomically: to "<path>.tmp.<pid>", fsync, then rename over `path` (and fsync the directory),
/// so an existing file is replaced whole or not at all. Throws ModelFileError on any I/O error.
void save_model(const Model& model, const std::string& path);

/// Reads and validates a model file. Throws ModelFileError naming the path and what is wrong.
Model load_model(const std::string& path);

}  // namespace qg::runtime
