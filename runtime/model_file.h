// The model file: a versioned, checksummed binary container for a Model.
//
//   offset       size  field
//   0            8     magic "QGMODEL\0"
//   8            4     format version, uint32 little-endian: 1, or 2 for a model with a mul_add op
//                      (this build reads both and writes the lowest that holds the model)
//   12           4     reserved, uint32, must be 0
//   16           8     H = length of the header JSON in bytes, uint64 little-endian
//   24           8     D = length of the tensor data section in bytes, uint64 little-endian
//   32           H     header: UTF-8 JSON (model_json.h, docs/runtime.md), no terminator
//   32+H         D     tensor data: int32 little-endian biases, weight codes packed at their bit width
//   32+H+D       4     CRC-32 (crc32.h) of bytes [0, 32+H+D), uint32 little-endian
//
// load_model() checks, in this order: magic, that the size can hold the fixed parts, version, reserved,
// that 32+H+D+4 is exactly the file size (truncated or trailing bytes), the checksum, the JSON syntax
// (nesting at most 64 deep), every field of the header (by JSON path), every tensor's bounds, size
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

namespace qg::runtime {

inline constexpr std::array<uint8_t, 8> kModelMagic = {'Q', 'G', 'M', 'O', 'D', 'E', 'L', '\0'};
/// The newest format version this build reads and writes. Version 2 added the op mul_add (nothing else
/// changed), so a model without one is still written as version 1, which older readers read.
inline constexpr uint32_t kModelFormatVersion = 2;
inline constexpr uint32_t kOldestModelFormatVersion = 1;
inline constexpr size_t kModelPrefixSize = 32;   ///< magic, version, reserved, H, D
inline constexpr size_t kModelChecksumSize = 4;  ///< the trailing CRC-32
inline constexpr int kMaxHeaderNesting = 64;     ///< deepest JSON nesting accepted in a header

/// Every load/save failure: what() starts with "load_model: <path>: " or "save_model: <path>: ".
class ModelFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The lowest format version that can hold `model`: 2 when it has a mul_add op, else 1.
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
