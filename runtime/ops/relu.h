// ReLU on codes: max(q, Z). Code Z is real 0 and the map q -> S (q - Z) is increasing, so this is
// exactly max(r, 0) with the input's QuantParams kept. (A ReLU right after a conv or linear layer is
// usually fused into its OutputStage clamp instead.)
#pragma once

#include <cstdint>
#include <span>

#include "runtime/dims.h"
#include "runtime/quant_params.h"

namespace qg::runtime {

struct ReLU {
  static constexpr const char* kName = "relu";

  /// Any shape; the output has the same.
  Dims output_shape(const Dims& input_shape) const { return input_shape; }
};

void relu_reference(const QuantParams& input_quant, std::span<const int32_t> input,
                    std::span<int32_t> output);

}  // namespace qg::runtime
