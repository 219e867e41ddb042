// OnnxError: what the ONNX bridge throws for a file or model it cannot read, write or map, with a one-line
// message that names the file and, where there is one, the node ("M.onnx: node 3 "/conv2/Conv" (Conv):
// attribute auto_pad = SAME_UPPER is not supported; ...").
#pragma once

#include <stdexcept>
#include <string>

namespace qg::onnx_io {

struct OnnxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace qg::onnx_io
