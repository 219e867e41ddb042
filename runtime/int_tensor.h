// IntTensor: a dense row-major batch of integer codes, the runtime's only tensor type.
//
// Codes of any bit width and signedness are held as int32. run() takes [N, <model input shape>] and
// returns [N, <model output shape>]; there are no strides or views, so a student can index it directly:
// element (n, i) of a [N, F] tensor is data[n * F + i].
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/dims.h"

namespace qg::runtime {

struct IntTensor {
  Dims shape;
  std::vector<int32_t> data;

  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  /// Elements per sample: the product of all dimensions but the first.
  int64_t sample_size() const {
    int64_t size = 1;
    for (size_t i = 1; i < shape.size(); ++i)
      size *= shape[i];
    return size;
  }
  int64_t batch() const { return shape.empty() ? 0 : shape[0]; }
};

}  // namespace qg::runtime
