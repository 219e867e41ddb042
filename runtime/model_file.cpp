#include "runtime/model_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

#include "runtime/bit_packing.h"
#include "runtime/crc32.h"
#include "runtime/json_field.h"
#include "runtime/model_json.h"

namespace qg::runtime {

namespace {

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

/// Parses the header text, refusing deep nesting (copying or printing a deeply nested nlohmann::json
/// recurses, so a hostile header could otherwise overflow the stack later).
nlohmann::json parse_header(std::string_view text) {
  const auto limit_depth = [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxHeaderNesting) {
      throw std::runtime_error("nesting deeper than " + std::to_string(kMaxHeaderNesting) + " levels");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, limit_depth);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number beyond a double (1e999)
    throw std::runtime_error(std::string("header JSON is malformed: ") + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("header JSON is malformed: ") + e.what());
  }
}

/// The checks on the binary frame; returns the header text and the data section.
void check_frame(std::span<const uint8_t> bytes, std::string_view& header, std::span<const uint8_t>& data) {
  const uint64_t size = bytes.size();
  if (size >= kModelMagic.size() && !std::equal(kModelMagic.begin(), kModelMagic.end(), bytes.begin())) {
    throw std::runtime_error(
        "bad magic at offset 0: expected \"QGMODEL\\0\", this is not a quantgrad model file");
  }
  if (size < kModelPrefixSize + kModelChecksumSize) {
    throw std::runtime_error("truncated: the file has " + std::to_string(size) + " bytes, fewer than the " +
                             std::to_string(kModelPrefixSize + kModelChecksumSize) +
                             " of the fixed header and checksum");
  }
  const uint64_t version = get_le(bytes, 8, 4);
  if (version < kOldestModelFormatVersion || version > kModelFormatVersion) {
    throw std::runtime_error(
        "unsupported format version " + std::to_string(version) + " at offset 8 (this build reads versions " +
        std::to_string(kOldestModelFormatVersion) + " to " + std::to_string(kModelFormatVersion) + ")");
  }
  const uint64_t reserved = get_le(bytes, 12, 4);
  if (reserved != 0) {
    throw std::runtime_error("reserved field at offset 12 must be 0, found " + std::to_string(reserved));
  }
  const uint64_t header_size = get_le(bytes, 16, 8);
  const uint64_t data_size = get_le(bytes, 24, 8);
  const uint64_t fixed = kModelPrefixSize + kModelChecksumSize;
  // Compared piecewise so that lying sizes near 2^64 cannot wrap around.
  const bool fits = header_size <= size - fixed && data_size <= size - fixed - header_size;
  const std::string declared = "the header at offset 16 declares " + std::to_string(header_size) +
                               " bytes of JSON and " + std::to_string(data_size) + " bytes of tensor data";
  if (!fits) {
    throw std::runtime_error("truncated: " + declared + ", more than the file's " + std::to_string(size) +
                             " bytes can hold");
  }
  const uint64_t expected = fixed + header_size + data_size;
  if (expected != size) {
    throw std::runtime_error("unexpected " + std::to_string(size - expected) +
                             " trailing bytes after offset " + std::to_string(expected) + ": " + declared);
  }
  const size_t body = kModelPrefixSize + header_size + data_size;
  const auto stored = static_cast<uint32_t>(get_le(bytes, body, 4));
  const uint32_t computed = crc32(bytes.first(body));
  if (stored != computed) {
    throw std::runtime_error("checksum mismatch: the CRC-32 stored at offset " + std::to_string(body) +
                             " is " + hex32(stored) + " but the contents give " + hex32(computed) +
                             " (the file is corrupt)");
  }
  header = std::string_view(reinterpret_cast<const char*>(bytes.data()) + kModelPrefixSize, header_size);
  data = bytes.subspan(kModelPrefixSize + header_size, data_size);
}

/// A file descriptor closed on scope exit.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  /// Closes now, reporting the error (close can report a delayed write failure).
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

[[noreturn]] void fail_io(const std::string& path, const std::string& step) {
  throw ModelFileError("save_model: " + path + ": " + step + " failed: " + std::strerror(errno));
}

void write_all(int fd, std::span<const uint8_t> bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail_io(path, "write");
    bytes = bytes.subspan(static_cast<size_t>(written));
  }
}

void fsync_directory_of(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());  // best effort: the rename itself already happened
}

}  // namespace

uint32_t required_format_version(const Model& model) {
  for (const Op& op : model.ops) {
    if (std::holds_alternative<MulAdd>(op)) return 2;
  }
  return 1;
}

std::vector<uint8_t> serialize_model(const Model& model) {
  const EncodedModel encoded = encode_model(model);
  const std::string header = encoded.header.dump();
  std::vector<uint8_t> bytes(kModelMagic.begin(), kModelMagic.end());
  put_le(bytes, required_format_version(model), 4);
  put_le(bytes, 0, 4);
  put_le(bytes, header.size(), 8);
  put_le(bytes, encoded.data.size(), 8);
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), encoded.data.begin(), encoded.data.end());
  put_le(bytes, crc32(bytes), 4);
  return bytes;
}

Model deserialize_model(std::span<const uint8_t> bytes, const std::string& source) {
  const std::string prefix = "load_model: " + source + ": ";
  try {
    std::string_view header_text;
    std::span<const uint8_t> data;
    check_frame(bytes, header_text, data);
    const nlohmann::json header = parse_header(header_text);
    Model model = decode_model(header, data);
    const uint64_t version = get_le(bytes, 8, 4);
    if (required_format_version(model) > version) {  // a newer op in a file that claims an older format
      throw std::runtime_error("the model has a mul_add op, which needs format version " +
                               std::to_string(required_format_version(model)) + ", but offset 8 declares " +
                               std::to_string(version));
    }
    return model;
  } catch (const JsonFieldError& e) {
    throw ModelFileError(prefix + "header field " + e.what());
  } catch (const std::exception& e) {
    throw ModelFileError(prefix + e.what());
  }
}

void save_model(const Model& model, const std::string& path) {
  std::vector<uint8_t> bytes;
  try {
    bytes = serialize_model(model);
  } catch (const std::exception& e) {
    throw ModelFileError("save_model: " + path + ": " + e.what());
  }
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  try {
    FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail_io(temporary, "open");
    write_all(fd.get(), bytes, temporary);
    if (::fsync(fd.get()) != 0) fail_io(temporary, "fsync");
    if (fd.close() != 0) fail_io(temporary, "close");
    if (::rename(temporary.c_str(), path.c_str()) != 0) fail_io(path, "rename from " + temporary);
  } catch (...) {
    ::unlink(temporary.c_str());  // the old file, if any, is untouched
    throw;
  }
  fsync_directory_of(path);
}

Model load_model(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) throw ModelFileError("load_model: " + path + ": cannot open: " + std::strerror(errno));
  const std::streamoff size = file.tellg();
  if (size < 0) throw ModelFileError("load_model: " + path + ": cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  file.seekg(0);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw ModelFileError("load_model: " + path + ": read failed after " + std::to_string(file.gcount()) +
                         " of " + std::to_string(size) + " bytes");
  }
  return deserialize_model(bytes, path);
}

}  // namespace qg::runtime
