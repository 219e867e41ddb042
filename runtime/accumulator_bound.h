// The guarantee that a conv/linear layer's int32 accumulator never overflows.
//
// acc = bias + sum_{k<K} (q1 - Z1)(q2 - Z2). The fast kernels compute the same sum as
//     sum_k (q1 - Z1) * q2  -  Z2 * sum_k (q1 - Z1)
// (gemmlowp's zero-point trick: the weight zero point is applied once per output, not per product).
// With A = max|q1 - Z1| over the input code range, W = max|q2| and Zw = max|Z2|, every partial sum
// of either form is at most K*A*(W + Zw) + max|bias| in magnitude. A model is only valid when that
// bound fits in int32 - for 8-bit codes that allows K up to about 16000 products per output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/quant_params.h"
#include "runtime/quantized_weights.h"

namespace qg::runtime {

/// The worst-case |accumulator| of a layer with `products` terms per output (64-bit, exact).
int64_t accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                          const std::vector<int32_t>& bias);

/// Throws std::invalid_argument starting with `what` when accumulator_bound() exceeds INT32_MAX.
void check_accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                             const std::vector<int32_t>& bias, const std::string& what);

}  // namespace qg::runtime
