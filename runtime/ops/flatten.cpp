#include "runtime/ops/flatten.h"

#include <algorithm>
#include <cassert>

namespace qg::runtime {

Dims Flatten::output_shape(const Dims& input_shape) const {
  return {checked_numel(input_shape, "input")};
}

void flatten_reference(std::span<const int32_t> input, std::span<int32_t> output) {
  assert(input.size() == output.size());
  std::copy(input.begin(), input.end(), output.begin());
}

}  // namespace qg::runtime
