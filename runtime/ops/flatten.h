// Flatten: one sample [C,H,W] (or any shape) -> [C*H*W], keeping channel-major order like
// torch.flatten(x, 1). The codes and their QuantParams are unchanged.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/dims.h"

namespace qg::runtime {

struct Flatten {
  static constexpr const char* kName = "flatten";

  Dims output_shape(const Dims& input_shape) const;
};

void flatten_reference(std::span<const int32_t> input, std::span<int32_t> output);

}  // namespace qg::runtime
