#include "runtime/accumulator_bound.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <utility>

#include "runtime/ops/simd_clones.h"

namespace qg::runtime {

namespace {

// The sums of magnitudes of one output channel's weight codes.
struct ChannelSums {
  int64_t offsets = 0;  // sum_k |q2 - Z2|
  int64_t codes = 0;    // sum_k |q2|
};

// run() validates its model on every call, so this pass over every weight code is written to vectorise:
// int32 sums over chunks of kChunk codes, added up in int64. The weights are validated first (codes and zero
// points of at most 16 bits), so each |q2 - Z2| and |q2| is below 2^17 and a chunk's sum below 2^31.
constexpr int64_t kChunk = 8192;

// Sums of n <= kChunk codes: sum |q2 - zero| and sum |q2|. Compiled for each x86-64 level (the baseline,
// SSE2, has no packed 32-bit abs).
QG_RUNTIME_CLONES std::pair<int32_t, int32_t> chunk_sums(const int16_t* codes, int64_t n, int32_t zero) {
  int32_t offsets = 0, magnitudes = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int32_t code = codes[k];
    offsets += std::abs(code - zero);
    magnitudes += std::abs(code);
  }
  return {offsets, magnitudes};
}

ChannelSums channel_sums(const QuantizedWeights& weight, int64_t c) {
  const int64_t row = weight.row_size();
  const int32_t zero = weight.zero_point(c);
  assert(zero >= -(1 << 16) && zero <= (1 << 16));
  const int16_t* codes = weight.codes.data() + c * row;
  ChannelSums sums;
  for (int64_t begin = 0; begin < row; begin += kChunk) {
    const auto [offsets, magnitudes] = chunk_sums(codes + begin, std::min(kChunk, row - begin), zero);
    sums.offsets += offsets;
    sums.codes += magnitudes;
  }
  return sums;
}

}  // namespace

int64_t max_input_offset(const QuantParams& input) {
  return std::max(input.qmax() - input.zero_point, input.zero_point - input.qmin());
}

AccumulatorBound channel_accumulator_bound(int64_t products, const QuantParams& input,
                                           const QuantizedWeights& weight, const std::vector<int32_t>& bias,
                                           int64_t channel) {
  // A <= 2^16 and the sums <= 2^28 * 2^16 (codes of at most 16 bits): every product below fits int64.
  const int64_t input_offset = max_input_offset(input);
  const ChannelSums sums = channel_sums(weight, channel);
  const int64_t b = bias.empty() ? 0 : std::abs(int64_t{bias[static_cast<size_t>(channel)]});
  AccumulatorBound bound;
  bound.channel = channel;
  bound.accumulator = b + input_offset * sums.offsets;
  const auto consider = [&](int64_t value, const char* term) {
    if (value > bound.value) {
      bound.value = value;
      bound.term = term;
    }
  };
  consider(bound.accumulator, "the accumulator");
  consider(b + input_offset * sums.codes, "bias + sum (q1 - Z1) q2");
  consider(std::abs(int64_t{weight.zero_point(channel)}) * products * input_offset, "Z2 sum (q1 - Z1)");
  consider(products * input_offset, "sum (q1 - Z1)");
  return bound;
}

AccumulatorBound accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                                   const std::vector<int32_t>& bias) {
  AccumulatorBound bound;
  for (int64_t c = 0; c < weight.out_channels(); ++c) {
    const AccumulatorBound channel = channel_accumulator_bound(products, input, weight, bias, c);
    const int64_t largest_accumulator = std::max(bound.accumulator, channel.accumulator);
    if (channel.value > bound.value) bound = channel;
    bound.accumulator = largest_accumulator;
  }
  return bound;
}

void check_accumulator_bound(int64_t products, const QuantParams& input, const QuantizedWeights& weight,
                             const std::vector<int32_t>& bias, const std::string& what) {
  const AccumulatorBound bound = accumulator_bound(products, input, weight, bias);
  if (bound.value > std::numeric_limits<int32_t>::max()) {
    throw std::invalid_argument(
        what + ": the int32 accumulator could overflow: in output channel " + std::to_string(bound.channel) +
        ", " + bound.term + " can reach " + std::to_string(bound.value) + " > 2^31-1 (" +
        std::to_string(products) + " products of " + std::to_string(input.bits) + "-bit inputs and " +
        std::to_string(weight.bits) + "-bit weights, from the layer's weight codes and bias)");
  }
}

}  // namespace qg::runtime
