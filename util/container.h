// The file container: quantgrad's one binary frame, for integer model files (runtime/model_file.h) and
// checkpoints (nn/checkpoint.h). Each kind of file has its own magic, its own format versions and its own
// header JSON; the frame, its checks and its checksum are the same.
//
//   offset     size  field
//   0          8     magic: the kind's, e.g. "QGMODEL\0" or "QGCKPT\0\1"
//   8          4     format version, uint32 little-endian (the kind's own numbering)
//   12         4     reserved, uint32, must be 0
//   16         8     H: length of the header in bytes, uint64 little-endian
//   24         8     D: length of the data section in bytes, uint64 little-endian
//   32         H     header: UTF-8 JSON, no terminator
//   32+H       D     data section (the kind's tensors)
//   32+H+D     4     CRC-32 (util/checksum.h) of bytes [0, 32+H+D), uint32 little-endian
//
// The file size is exactly 36 + H + D. read_container checks, in this order: the magic, that the size can
// hold the fixed parts, the version, the reserved field, that H and D fit the real size (truncated or
// trailing bytes), the checksum, and the JSON syntax of the header (nesting at most 64 deep: copying or
// printing a deeply nested nlohmann::json recurses, so a hostile header could otherwise overflow the stack).
// Sizes from the file are compared with the real size before anything is allocated from them.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace qg::util {

inline constexpr size_t kContainerPrefixSize = 32;   ///< magic, version, reserved, H, D
inline constexpr size_t kContainerChecksumSize = 4;  ///< the trailing CRC-32
inline constexpr int kMaxHeaderNesting = 64;         ///< deepest JSON nesting accepted in a header

/// What one kind of file puts into the container's fixed part.
struct ContainerFormat {
  std::array<uint8_t, 8> magic;
  std::string_view kind;  ///< "model file", "checkpoint": for messages
  uint32_t oldest_version = 1;
  uint32_t newest_version = 1;  ///< read_container accepts versions [oldest_version, newest_version]
};

/// A container that read_container checked. `data` points into the bytes it was given.
struct Container {
  uint32_t version = 0;
  nlohmann::json header;
  std::span<const uint8_t> data;
};

/// Every problem with the frame; what() says what is wrong and where (byte offsets), without the file's
/// name, which the caller prefixes, e.g.
///   checksum mismatch: the CRC-32 stored at offset 1837 is 0x1a2b3c4d but the contents give 0x5e6f7a8b
///   (the file is corrupt)
class ContainerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The complete file: the frame around `header` (JSON text) and `data`, with `version` at offset 8.
std::vector<uint8_t> write_container(const ContainerFormat& format, uint32_t version, std::string_view header,
                                     std::span<const uint8_t> data);

/// Checks the frame (see above) and parses the header. Throws ContainerError.
Container read_container(std::span<const uint8_t> bytes, const ContainerFormat& format);

/// Parses header text, refusing nesting deeper than kMaxHeaderNesting before it is built. Throws
/// ContainerError "header JSON is malformed: ..." (a syntax error, a number beyond a double, or the
/// nesting).
nlohmann::json parse_header_json(std::string_view text);

}  // namespace qg::util
