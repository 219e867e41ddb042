#include "app/report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "app/distributed.h"
#include "util/atomic_file.h"

namespace qg::app {

void write_report(const std::string& path, const nlohmann::json& report) {
  if (!distributed::world().is_writer()) return;  // one writer in a data-parallel run: rank 0
  util::write_file_atomically(path, report.dump(2) + "\n");
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

void check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir)) throw std::runtime_error(path + ": folder " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw std::runtime_error(path + ": folder " + dir.string() + " is not writable");
  if (fs::is_directory(p)) throw std::runtime_error(path + ": is a folder, expected a file path");
}

}  // namespace qg::app
