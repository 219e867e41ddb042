// OutputDequantize: the model's output codes -> real values (logits), r = S (q - Z).
// With InputQuantize the only floating-point step of the integer mode; argmax (predict) needs none.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/quant_params.h"

namespace qg::runtime {

struct OutputDequantize {
  static constexpr const char* kName = "output";

  QuantParams quant;  ///< must equal the quantization of the last op's output
};

std::vector<float> output_dequantize(const OutputDequantize& op, std::span<const int32_t> codes);

}  // namespace qg::runtime
