// Test helpers: a self-deleting temporary folder and writers for IDX files, plain and gzip, made
// byte by byte so that the tests can also build every kind of broken file.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace qg::data::testing {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr uint32_t kImagesMagic = 0x00000803;

/// A fresh folder under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "qg_datasets_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("TempDir: mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void append_be32(Bytes& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(value >> shift));
}

/// Magic, then each dimension as big-endian uint32, then the payload.
inline Bytes idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& payload = {}) {
  Bytes out;
  append_be32(out, magic);
  for (uint32_t d : dims)
    append_be32(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

/// `count` deterministic but irregular bytes (so that a shifted read would not compare equal).
inline Bytes pattern_bytes(size_t count, uint32_t salt = 0, uint32_t modulus = 256) {
  Bytes out(count);
  for (size_t i = 0; i < count; ++i)
    out[i] = static_cast<uint8_t>((i * 7919u + salt * 31u + i / 13) % modulus);
  return out;
}

/// A complete gzip stream (RFC 1952) of `data`, in memory.
inline Bytes gzip_bytes(const Bytes& data) {
  z_stream stream{};
  // windowBits 15 + 16 asks zlib for a gzip header and trailer instead of a zlib one.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip_bytes: deflateInit2 failed");
  }
  Bytes out(deflateBound(&stream, data.size()) + 32);
  stream.next_in = const_cast<Bytef*>(data.data());
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("gzip_bytes: deflate did not finish");
  out.resize(stream.total_out);
  return out;
}

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("write_file: cannot write " + path);
}

inline void write_gzip_file(const std::string& path, const Bytes& bytes) {
  write_file(path, gzip_bytes(bytes));
}

/// Writes `bytes` to `path`, gzip-compressed when `gzip` (the name is left as given).
inline void write_idx_file(const std::string& path, const Bytes& bytes, bool gzip) {
  gzip ? write_gzip_file(path, bytes) : write_file(path, bytes);
}

}  // namespace qg::data::testing
