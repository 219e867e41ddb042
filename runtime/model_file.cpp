#include "runtime/model_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/json_field.h"
#include "runtime/model_json.h"

namespace qg::runtime {

namespace {

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

namespace {

// The first op that does not read the value just before it (ops.size() if none): a graph, not a chain.
size_t first_graph_op(const Model& model) {
  for (size_t i = 0; i < model.ops.size(); ++i) {
    if (model.inputs_of(i) != std::vector<int64_t>{static_cast<int64_t>(i)}) return i;
  }
  return model.ops.size();
}

std::string values_to_string(const std::vector<int64_t>& values) {
  std::string text;
  for (const int64_t v : values)
    text += (text.empty() ? "" : ", ") + std::to_string(v);
  return "[" + text + "]";
}

}  // namespace

uint32_t required_format_version(const Model& model) {
  uint32_t version = 1;
  for (const Node& op : model.ops)
    version = std::max(version, op_format_version(op));
  if (first_graph_op(model) < model.ops.size()) version = std::max(version, kGraphFormatVersion);
  return version;
}

std::vector<uint8_t> serialize_model(const Model& model) {
  const EncodedModel encoded = encode_model(model);
  return util::write_container(kModelFileFormat, required_format_version(model), encoded.header.dump(),
                               encoded.data);
}

Model deserialize_model(std::span<const uint8_t> bytes, const std::string& source) {
  const std::string prefix = "load_model: " + source + ": ";
  try {
    const util::Container container = util::read_container(bytes, kModelFileFormat);
    Model model = decode_model(container.header, container.data);
    for (const Node& op : model.ops) {  // a newer op in a file that claims an older format
      if (op_format_version(op) > container.version) {
        const std::string name = op_name(op);
        throw std::runtime_error(std::string("the model has ") +
                                 (std::string("aeiou").find(name[0]) != std::string::npos ? "an " : "a ") +
                                 name + " op, which needs format version " +
                                 std::to_string(op_format_version(op)) + ", but offset 8 declares " +
                                 std::to_string(container.version));
      }
    }
    const size_t graph_op = first_graph_op(model);  // a graph in a file that claims an older format
    if (graph_op < model.ops.size() && container.version < kGraphFormatVersion) {
      throw std::runtime_error("op " + std::to_string(graph_op) + " (" + op_name(model.ops[graph_op]) +
                               ") reads values " + values_to_string(model.inputs_of(graph_op)) +
                               " instead of the value before it: a graph, which needs format version " +
                               std::to_string(kGraphFormatVersion) + ", but offset 8 declares " +
                               std::to_string(container.version));
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
