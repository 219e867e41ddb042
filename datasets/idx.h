// IDX: the file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).
//
//   offset 0   magic: 0x00 0x00 <type code> <number of dimensions>
//   offset 4   one big-endian uint32 per dimension
//   then       the values, row-major, last dimension fastest
//
// Only the type code 0x08 (unsigned byte) is used by the datasets, so it is the only one accepted:
// magic 0x00000801 is a 1-D array of labels, 0x00000803 a 3-D array of images [count, rows, cols].
// A file may be plain or gzip-compressed; gzip is recognised by its magic bytes 1f 8b, not by the
// file name.
//
// The reader trusts nothing: every field is checked, and the payload length promised by the header is
// checked against the data actually present *before* the payload is allocated, so a corrupt header that
// claims 2^31 images fails fast instead of allocating gigabytes. See docs/data.md for the full rules.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qg::data {

/// What the caller expects the file to hold; decides the accepted magic number.
enum class IdxKind {
  kLabels,  // magic 0x00000801: [count]
  kImages,  // magic 0x00000803: [count, rows, cols]
};

/// The decoded contents of an IDX file of unsigned bytes.
struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

/// Largest payload the reader accepts (4 GiB); MNIST's training images are 47 MB.
inline constexpr uint64_t kMaxIdxPayloadBytes = uint64_t{1} << 32;

/// Reads and validates an IDX file (plain or gzip). Throws std::runtime_error whose message starts
/// with `who: path:` and names the offset or field, what was expected and what was found.
IdxArray read_idx(const std::string& path, IdxKind kind, const std::string& who = "idx");

}  // namespace qg::data
