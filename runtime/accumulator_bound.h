// The guarantee that a conv/linear layer's int32 arithmetic never overflows, proved from the layer's actual
// codes (issue 10, item 4: a bound from the code *range* refused valid models).
//
// For output channel c, with K products per output and A = max |q1 - Z1| over the input code range (the
// farthest any input code can be from its zero point):
// clang-format off
//
//   the definition (conv2d_reference, linear_reference), and the result of every kernel:
//       acc = bias[c] + sum_k (q1 - Z1)(q2[c,k] - Z2[c])
//       every partial sum  <=  |bias[c]| + A sum_k |q2[c,k] - Z2[c]|                     "the accumulator"
//   the int16 kernels (conv2d_int16, linear_fast), gemmlowp's zero-point trick in int32:
//       acc = (bias[c] + sum_k (q1 - Z1) q2[c,k]) - Z2[c] sum_k (q1 - Z1)
//       bias + the raw dot product  <=  |bias[c]| + A sum_k |q2[c,k]|            "bias + sum (q1 - Z1) q2"
//       the correction              <=  |Z2[c]| K A    (and the row sum itself <= K A)  "Z2 sum (q1 - Z1)"
//   the dot paths (conv2d_dot at any stride, linear_dot): D = sum a w with a = q1 - qmin1 in [0, 255], w = q2 - mid in
//       [-128, 127] stays below 255 * 128 * K < 2^31 because it only runs for K < 65536; the rest is
//       summed modulo 2^32, so only the accumulator itself must fit.
//
// clang-format on
// Sums over subsets of the products (any order a vectorised loop takes) are bounded by the same sums of
// magnitudes. A layer is valid when every term of every channel fits in int32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/quant_params.h"
#include "runtime/quantized_weights.h"

namespace qg::runtime {

/// The largest magnitude any int32 intermediate of a layer can reach, and where.
struct AccumulatorBound {
  int64_t value = 0;        ///< 64-bit, exact
  int64_t channel = 0;      ///< the output channel that reaches it
  std::string term;         ///< which intermediate: "the accumulator", "bias + sum (q1 - Z1) q2", ...
  int64_t accumulator = 0;  ///< the largest |acc| itself (the first term), over all channels
};

/// A = max |q1 - Z1| over the input code range: the farthest any input code can be from its zero point.
int64_t max_input_offset(const QuantParams& input);

/// The bound of output channel `channel` alone (bound.channel = channel, bound.accumulator its own |acc|
/// bound), for a layer whose outputs each sum `products` terms. `bias` is empty or has one entry per channel.
AccumulatorBound channel_accumulator_bound(int64_t products, const QuantParams& input,
                                           const QuantizedWeights& weight, const std::vector<int32_t>& bias,
                                           int64_t channel);

/// The bound of a layer whose outputs each sum `products` terms (K: weight.row_size()): the largest
/// channel_accumulator_bound over the channels.
AccumulatorBound accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                                   const std::vector<int32_t>& bias);

/// Throws std::invalid_argument starting with `what` when accumulator_bound() exceeds INT32_MAX, naming the
/// channel, the term and its value.
void check_accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                             const std::vector<int32_t>& bias, const std::string& what);

}  // namespace qg::runtime
