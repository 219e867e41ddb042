// JSON pointers (RFC 6901) name a value inside a document: "/layers/3/kernel_size" is the key
// "kernel_size" of the fourth element of "layers". Every config error names the offending value this way.
#pragma once

#include <cstddef>
#include <string>

namespace qg::config {

/// `pointer` + "/" + `key`, escaping "~" as "~0" and "/" as "~1" as the RFC requires.
inline std::string pointer_append(const std::string& pointer, const std::string& key) {
  std::string out = pointer + "/";
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string pointer_append(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

}  // namespace qg::config
