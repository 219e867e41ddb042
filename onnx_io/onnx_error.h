// OnnxError: what the ONNX bridge throws for a file or model it cannot read, write or map, with a one-line
// message that names the file and, where there is one, the node ("M.onnx: node 3 "/conv2/Conv" (Conv):
// attribute auto_pad = SAME_UPPER is not supported; ...").
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace qg::onnx_io {

struct OnnxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// `text` with control bytes and bytes outside printable ASCII written as \xNN: names read from an ONNX file
/// are arbitrary bytes (a newline, a NUL), and an error message is one line of text.
inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

}  // namespace qg::onnx_io
