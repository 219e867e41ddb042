#include "datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace qg::data {

namespace {

constexpr uint8_t kUbyteTypeCode = 0x08;
// gzip payloads are decompressed in chunks of this size, so memory follows the data actually present,
// never the size the header claims.
constexpr size_t kGzipChunkBytes = size_t{1} << 20;

/// Everything an error message needs to say where it happened.
struct Where {
  const std::string& who;
  const std::string& path;
};

[[noreturn]] void fail(const Where& where, const std::string& what) {
  throw std::runtime_error(where.who + ": " + where.path + ": " + what);
}

std::string hex(uint32_t value, int digits) {
  std::array<char, 16> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "0x%0*X", digits, value);
  return buffer.data();
}

const char* type_code_name(uint32_t code) {
  switch (code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "short";
    case 0x0C:
      return "int";
    case 0x0D:
      return "float";
    case 0x0E:
      return "double";
    default:
      return "not an IDX type";
  }
}

int expected_dim_count(IdxKind kind) {
  return kind == IdxKind::kImages ? 3 : 1;
}

const char* dim_name(IdxKind kind, size_t axis) {
  static constexpr std::array<const char*, 3> kImageDims = {"count", "rows", "cols"};
  return kind == IdxKind::kImages ? kImageDims.at(axis) : "count";
}

const char* payload_name(IdxKind kind) {
  return kind == IdxKind::kImages ? "pixels" : "labels";
}

// Decompresses a gzip file with zlib's inflate, member after member (RFC 1952 allows several). Unlike
// gzread, which silently ignores whatever follows the last member, anything there that is not another
// gzip member is an error.
class GzipInflater {
 public:
  GzipInflater(std::ifstream& file, const Where& where) : file_(file), where_(where), input_(64 * 1024) {
    // windowBits 15 + 16: expect a gzip header and trailer (and check the trailer's CRC-32 and length).
    if (inflateInit2(&z_, 15 + 16) != Z_OK) fail(where_, "cannot initialise zlib");
  }
  ~GzipInflater() { inflateEnd(&z_); }
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  /// Fills up to `n` bytes; fewer only at the end of the last member.
  size_t read(uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n && !finished_) {
      if (z_.avail_in == 0 && !refill()) corrupt("the compressed data ends in the middle of the stream");
      z_.next_out = dst + got;
      z_.avail_out = static_cast<uInt>(std::min<size_t>(n - got, kGzipChunkBytes));
      const uInt asked = z_.avail_out;
      const int result = inflate(&z_, Z_NO_FLUSH);
      const size_t out = asked - z_.avail_out;
      got += out;
      produced_ += out;
      if (result == Z_STREAM_END) {
        end_of_member();
      } else if (result != Z_OK && result != Z_BUF_ERROR) {
        corrupt(std::string("zlib: ") + (z_.msg ? z_.msg : "error " + std::to_string(result)));
      }
    }
    return got;
  }

 private:
  // After a member: either the file ends, or another member (magic 1f 8b) follows.
  void end_of_member() {
    if (z_.avail_in == 0 && !refill()) {
      finished_ = true;
      return;
    }
    if (*z_.next_in != 0x1f) {
      fail(where_, "trailing data after the gzip stream, at compressed offset " +
                       std::to_string(compressed_offset()));
    }
    inflateReset(&z_);
  }

  bool refill() {
    file_.read(reinterpret_cast<char*>(input_.data()), static_cast<std::streamsize>(input_.size()));
    const auto n = static_cast<uInt>(file_.gcount());
    z_.next_in = input_.data();
    z_.avail_in = n;
    compressed_read_ += n;
    return n > 0;
  }

  uint64_t compressed_offset() const { return compressed_read_ - z_.avail_in; }

  [[noreturn]] void corrupt(const std::string& why) const {
    fail(where_, "corrupt gzip stream after " + std::to_string(produced_) +
                     " decompressed bytes, at compressed offset " + std::to_string(compressed_offset()) +
                     " (" + why + ")");
  }

  std::ifstream& file_;
  Where where_;
  z_stream z_{};
  std::vector<uint8_t> input_;
  uint64_t compressed_read_ = 0;  // bytes of the file handed to zlib so far
  uint64_t produced_ = 0;         // decompressed bytes so far
  bool finished_ = false;
};

// A sequential byte stream over a plain or a gzip file. read() returns fewer bytes than asked only at
// the end of the data; a damaged gzip stream throws.
class ByteStream {
 public:
  explicit ByteStream(const Where& where) : where_(where) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(where.path, ec);
    if (!fs::exists(status)) fail(where, "no such file");
    if (!fs::is_regular_file(status)) fail(where, "not a regular file");
    file_size_ = fs::file_size(where.path, ec);
    if (ec) fail(where, "cannot read file size (" + ec.message() + ")");

    file_.open(where.path, std::ios::binary);
    if (!file_) fail(where, std::string("cannot open file (") + std::strerror(errno) + ")");
    if (starts_with_gzip_magic()) gzip_.emplace(file_, where_);
  }

  bool is_gzip() const { return gzip_.has_value(); }
  /// On-disk size; for a plain file this is the header plus payload.
  uint64_t file_size() const { return file_size_; }

  size_t read(uint8_t* dst, size_t n) {
    const size_t got = gzip_ ? gzip_->read(dst, n) : read_plain(dst, n);
    position_ += got;
    return got;
  }

  /// Bytes delivered so far (uncompressed for gzip): the offset of the next byte.
  uint64_t position() const { return position_; }

 private:
  // gzip files begin with the two bytes 1f 8b (RFC 1952, section 2.3.1).
  bool starts_with_gzip_magic() {
    std::array<char, 2> head{};
    file_.read(head.data(), head.size());
    const bool gzip =
        file_.gcount() == 2 && static_cast<uint8_t>(head[0]) == 0x1f && static_cast<uint8_t>(head[1]) == 0x8b;
    file_.clear();
    file_.seekg(0);
    return gzip;
  }

  size_t read_plain(uint8_t* dst, size_t n) {
    file_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
    return static_cast<size_t>(file_.gcount());
  }

  Where where_;
  uint64_t file_size_ = 0;
  uint64_t position_ = 0;
  std::ifstream file_;
  std::optional<GzipInflater> gzip_;  // engaged for a gzip file; reads through file_
};

// Reads one big-endian uint32 of the header; `field` names it for the error message.
uint32_t read_header_word(ByteStream& in, const std::string& field, const Where& where) {
  const uint64_t offset = in.position();
  std::array<uint8_t, 4> bytes{};
  const size_t got = in.read(bytes.data(), bytes.size());
  if (got == 0 && offset == 0) fail(where, "empty file (expected an IDX header)");
  if (got < bytes.size()) {
    fail(where, "short header: expected " + field + " as 4 bytes at offset " + std::to_string(offset) +
                    ", data ends after " + std::to_string(offset + got) + " bytes");
  }
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
}

// The magic is 0x00 0x00 <type code> <number of dimensions>; each part is checked so that the message
// says which one is wrong.
void check_magic(uint32_t magic, IdxKind kind, const Where& where) {
  const int want_dims = expected_dim_count(kind);
  const uint32_t expected = (uint32_t{kUbyteTypeCode} << 8) | static_cast<uint32_t>(want_dims);
  if (magic == expected) return;

  const std::string expected_text = "expected magic " + hex(expected, 8) + ", found " + hex(magic, 8);
  if ((magic >> 16) != 0) fail(where, expected_text + ": not an IDX file (its first two bytes must be zero)");
  const uint32_t type_code = (magic >> 8) & 0xFF;
  if (type_code != kUbyteTypeCode) {
    fail(where, "expected type code 0x08 (unsigned byte) in byte 2 of the magic, found " + hex(type_code, 2) +
                    " (" + type_code_name(type_code) + ")");
  }
  const uint32_t dims = magic & 0xFF;
  std::string hint =
      " (" + std::to_string(dims) + " dimensions instead of " + std::to_string(want_dims) + ")";
  if (kind == IdxKind::kImages && dims == 1) hint = " (is this a labels file?)";
  if (kind == IdxKind::kLabels && dims == 3) hint = " (is this an images file?)";
  fail(where, expected_text + hint);
}

// Reads the dimension sizes; each must be at least 1 and their product within kMaxIdxPayloadBytes.
std::vector<int64_t> read_dims(ByteStream& in, IdxKind kind, const Where& where) {
  std::vector<int64_t> dims;
  uint64_t payload_bytes = 1;
  for (size_t axis = 0; axis < static_cast<size_t>(expected_dim_count(kind)); ++axis) {
    const std::string field =
        std::string("dimension ") + std::to_string(axis) + " (" + dim_name(kind, axis) + ")";
    const uint64_t offset = in.position();
    const uint32_t size = read_header_word(in, field, where);
    if (size == 0) fail(where, field + " at offset " + std::to_string(offset) + " is 0; expected at least 1");
    // Division instead of multiplication: the product of three uint32 can overflow 64 bits.
    if (size > kMaxIdxPayloadBytes / payload_bytes) {
      fail(where, field + " at offset " + std::to_string(offset) + " is " + std::to_string(size) +
                      ": the header would promise more than " + std::to_string(kMaxIdxPayloadBytes) +
                      " bytes, the reader's limit");
    }
    payload_bytes *= size;
    dims.push_back(size);
  }
  return dims;
}

std::string promise_text(IdxKind kind, uint64_t expected, uint64_t offset) {
  return "header promises " + std::to_string(expected) + " bytes of " + payload_name(kind) +
         " after offset " + std::to_string(offset);
}

// Plain file: the file size says whether the payload is all there, so it is checked before allocating.
std::vector<uint8_t> read_plain_payload(ByteStream& in, IdxKind kind, uint64_t expected, const Where& where) {
  const uint64_t offset = in.position();
  const uint64_t available = in.file_size() - offset;
  if (available < expected) {
    fail(where, "truncated: " + promise_text(kind, expected, offset) + ", file has " +
                    std::to_string(available) + " (file size " + std::to_string(in.file_size()) + ")");
  }
  if (available > expected) {
    fail(where, "trailing data: " + promise_text(kind, expected, offset) + ", file has " +
                    std::to_string(available - expected) + " unexpected bytes more, from offset " +
                    std::to_string(offset + expected));
  }
  std::vector<uint8_t> payload(expected);
  const size_t got = in.read(payload.data(), payload.size());
  if (got != expected) {
    fail(where, "truncated while reading: " + promise_text(kind, expected, offset) + ", read " +
                    std::to_string(got) + " (did the file change?)");
  }
  return payload;
}

// gzip: the uncompressed size is known only after decompressing (the ISIZE trailer is not trusted), so
// the payload is decompressed chunk by chunk and fails as soon as the data runs out.
std::vector<uint8_t> read_gzip_payload(ByteStream& in, IdxKind kind, uint64_t expected, const Where& where) {
  const uint64_t offset = in.position();
  std::vector<std::vector<uint8_t>> chunks;
  uint64_t got = 0;
  while (got < expected) {
    std::vector<uint8_t> chunk(static_cast<size_t>(std::min<uint64_t>(kGzipChunkBytes, expected - got)));
    const size_t n = in.read(chunk.data(), chunk.size());
    got += n;
    if (n < chunk.size()) {
      fail(where, "truncated: " + promise_text(kind, expected, offset) + ", gzip stream holds " +
                      std::to_string(got));
    }
    chunks.push_back(std::move(chunk));
  }

  // Reading on to the end of the stream also makes zlib verify the CRC-32 in the gzip trailer.
  std::vector<uint8_t> scratch(64 * 1024);
  uint64_t trailing = 0;
  while (const size_t n = in.read(scratch.data(), scratch.size())) {
    trailing += n;
  }
  if (trailing > 0) {
    fail(where, "trailing data: " + promise_text(kind, expected, offset) + ", gzip stream has " +
                    std::to_string(trailing) + " unexpected bytes more, from offset " +
                    std::to_string(offset + expected));
  }

  // Only now is the payload known to exist, so only now is it allocated in one piece.
  std::vector<uint8_t> payload;
  payload.reserve(expected);
  for (const auto& chunk : chunks) {
    payload.insert(payload.end(), chunk.begin(), chunk.end());
  }
  return payload;
}

}  // namespace

IdxArray read_idx(const std::string& path, IdxKind kind, const std::string& who) {
  const Where where{who, path};
  ByteStream in(where);
  check_magic(read_header_word(in, "the magic number", where), kind, where);
  IdxArray array;
  array.dims = read_dims(in, kind, where);
  uint64_t expected = 1;
  for (int64_t d : array.dims)
    expected *= static_cast<uint64_t>(d);
  array.data = in.is_gzip() ? read_gzip_payload(in, kind, expected, where)
                            : read_plain_payload(in, kind, expected, where);
  return array;
}

}  // namespace qg::data
