#include "runtime/ops/output_dequantize.h"

namespace qg::runtime {

std::vector<float> output_dequantize(const OutputDequantize& op, std::span<const int32_t> codes) {
  std::vector<float> values(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    values[i] = static_cast<float>(op.quant.scale * (codes[i] - op.quant.zero_point));
  }
  return values;
}

}  // namespace qg::runtime
