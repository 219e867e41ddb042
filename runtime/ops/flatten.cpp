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

Activation Flatten::output(const Activation& incoming) const {
  return {output_shape(incoming.shape), incoming.quant};
}

void Flatten::forward(const Activation&, std::span<const int32_t> input, std::span<int32_t> output,
                      const OpContext&) const {
  flatten_reference(input, output);
}

nlohmann::json Flatten::encode(TensorWriter&, const std::string&) const {
  return nlohmann::json::object();  // no parameters
}

Flatten Flatten::decode(const JsonField&, const TensorReader&) {
  return {};
}

}  // namespace qg::runtime
