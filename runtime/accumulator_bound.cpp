#include "runtime/accumulator_bound.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace qg::runtime {

int64_t accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                          const std::vector<int32_t>& bias) {
  const int64_t input_offset = std::max(input.qmax() - input.zero_point, input.zero_point - input.qmin());
  const int64_t weight_code = std::max(std::abs(code_min(weight.bits, weight.is_signed)),
                                       std::abs(code_max(weight.bits, weight.is_signed)));
  int64_t weight_zero = 0;
  for (const int32_t z : weight.zero_points)
    weight_zero = std::max<int64_t>(weight_zero, std::abs(int64_t{z}));
  int64_t largest_bias = 0;
  for (const int32_t b : bias)
    largest_bias = std::max(largest_bias, std::abs(int64_t{b}));
  // products <= 2^28 and the factors <= 2^9 each, so this cannot overflow int64.
  return products * input_offset * (weight_code + weight_zero) + largest_bias;
}

void check_accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                             const std::vector<int32_t>& bias, const std::string& what) {
  const int64_t bound = accumulator_bound(products, input, weight, bias);
  if (bound > std::numeric_limits<int32_t>::max()) {
    throw std::invalid_argument(what + ": the int32 accumulator could overflow: " + std::to_string(products) +
                                " products of " + std::to_string(input.bits) + "-bit inputs and " +
                                std::to_string(weight.bits) + "-bit weights plus the bias can reach " +
                                std::to_string(bound) + " > 2^31-1");
  }
}

}  // namespace qg::runtime
