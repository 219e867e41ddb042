// JSON pointers (RFC 6901) name a value inside a document: "/layers/3/kernel_size" is the key
// "kernel_size" of the fourth element of "layers". Config errors (config/) and model-file errors
// (runtime/json_field.h) name the offending value this way.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qg::util {

/// `pointer` + "/" + `key`, escaping "~" as "~0" and "/" as "~1" as the RFC requires:
/// json_pointer_append("/a", "b/c") is "/a/b~1c".
inline std::string json_pointer_append(const std::string& pointer, std::string_view key) {
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

/// `pointer` + "/" + the array index: json_pointer_append("/layers", 3) is "/layers/3".
inline std::string json_pointer_append(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

}  // namespace qg::util
