#include "runtime/ops/relu.h"

#include <algorithm>
#include <cassert>

namespace qg::runtime {

void relu_reference(const QuantParams& input_quant, std::span<const int32_t> input,
                    std::span<int32_t> output) {
  assert(input.size() == output.size());
  for (size_t i = 0; i < input.size(); ++i)
    output[i] = std::max(input[i], input_quant.zero_point);
}

Activation ReLU::output(const Activation& incoming) const {
  return {output_shape(incoming.shape), incoming.quant};
}

void ReLU::forward(const Activation& incoming, std::span<const int32_t> input, std::span<int32_t> output,
                   const OpContext&) const {
  relu_reference(incoming.quant, input, output);
}

nlohmann::json ReLU::encode(TensorWriter&, const std::string&) const {
  return nlohmann::json::object();  // no parameters
}

ReLU ReLU::decode(const JsonField&, const TensorReader&) {
  return {};
}

}  // namespace qg::runtime
