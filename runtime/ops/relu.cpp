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

}  // namespace qg::runtime
