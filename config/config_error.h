// ConfigError: every problem with a model config, from a missing file to a layer whose output would be
// empty. The message always says where (the file and the JSON pointer to the offending value) and what
// was expected versus what was found, e.g.
//
//   configs/x.json: /layers/3/kernel_size: expected a positive integer, found "3"
#pragma once

#include <stdexcept>
#include <string>

namespace qg::config {

class ConfigError : public std::runtime_error {
 public:
  /// `pointer` is a JSON pointer such as "/layers/3/kernel_size"; empty for errors about the whole file
  /// (cannot open it, invalid JSON).
  ConfigError(const std::string& source, const std::string& pointer, const std::string& detail)
      : std::runtime_error(source + ": " + (pointer.empty() ? "" : pointer + ": ") + detail),
        source_(source),
        pointer_(pointer),
        detail_(detail) {}

  const std::string& source() const { return source_; }
  const std::string& pointer() const { return pointer_; }
  /// The message without the location prefix.
  const std::string& detail() const { return detail_; }

 private:
  std::string source_;
  std::string pointer_;
  std::string detail_;
};

}  // namespace qg::config
