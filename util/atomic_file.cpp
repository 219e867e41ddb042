#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace qg::util {

namespace {

std::runtime_error os_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// Closes a file descriptor when it goes out of scope.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

// The folder that holds `path` ("." for a bare file name).
std::string parent_folder(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Makes a rename in `folder` durable: the new directory entry reaches the disk, so after a power cut the
// file is the new one, not the previous. Best effort: a file system that cannot fsync a folder (some
// network and FUSE ones answer EINVAL) still got the rename, which is atomic for every process.
void sync_folder(const std::string& folder) {
  const FileDescriptor dir{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    FileDescriptor file{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (file.fd < 0) throw os_error("cannot write", tmp);
    size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::write(file.fd, bytes.data() + written, bytes.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::runtime_error error = os_error("write failed for", tmp);
        ::unlink(tmp.c_str());
        throw error;
      }
      written += static_cast<size_t>(n);
    }
    if (::fsync(file.fd) != 0) {
      const std::runtime_error error = os_error("fsync failed for", tmp);
      ::unlink(tmp.c_str());
      throw error;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::runtime_error error = os_error("cannot rename " + tmp + " to", path);
    ::unlink(tmp.c_str());
    throw error;
  }
  sync_folder(parent_folder(path));
}

std::string read_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw os_error("cannot open", path);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw os_error("cannot read", path);
  if (static_cast<size_t>(size) > max_bytes) {
    throw std::runtime_error(path + ": file is " + std::to_string(size) + " bytes, more than the " +
                             std::to_string(max_bytes) + " expected");
  }
  in.seekg(0);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (!in.read(bytes.data(), size)) throw os_error("cannot read", path);
  return bytes;
}

}  // namespace qg::util
