#include "runtime/quantized_weights.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "runtime/ops/simd_clones.h"

namespace qg::runtime {

namespace {

struct CodeRange {
  int32_t lowest = 0, highest = 0;
};

// The smallest and largest of n >= 0 codes (0 and 0 for none). Compiled for each x86-64 level: the baseline
// (SSE2) has no packed 32-bit min/max, and this pass over every weight runs at each run().
QG_RUNTIME_CLONES CodeRange code_range(const int16_t* codes, size_t n) {
  int32_t lowest = 0, highest = 0;
  for (size_t i = 0; i < n; ++i) {
    lowest = std::min<int32_t>(lowest, codes[i]);
    highest = std::max<int32_t>(highest, codes[i]);
  }
  return {lowest, highest};
}

}  // namespace

int64_t QuantizedWeights::row_size() const {
  int64_t size = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    size *= shape[i];
  return size;
}

QuantParams QuantizedWeights::channel_params(int64_t c) const {
  const size_t i = per_channel() ? static_cast<size_t>(c) : 0;
  return QuantParams{scales[i], zero_points[i], bits, is_signed};
}

int32_t QuantizedWeights::max_abs_offset() const {
  int32_t largest = 0;
  for (const int32_t z : zero_points) {
    largest = std::max({largest, code_max(bits, is_signed) - z, z - code_min(bits, is_signed)});
  }
  return largest;
}

void QuantizedWeights::validate(const std::string& what) const {
  check_bits(bits, what);
  const int64_t count = checked_numel(shape, what);
  if (shape.empty()) throw std::invalid_argument(what + ": weight shape is empty");
  if (static_cast<int64_t>(codes.size()) != count) {
    throw std::invalid_argument(what + ": weight shape " + dims_to_string(shape) + " has " +
                                std::to_string(count) + " elements but " + std::to_string(codes.size()) +
                                " codes are given");
  }
  if (scales.size() != zero_points.size()) {
    throw std::invalid_argument(what + ": " + std::to_string(scales.size()) + " weight scales but " +
                                std::to_string(zero_points.size()) + " zero points");
  }
  if (scales.size() != 1 && static_cast<int64_t>(scales.size()) != out_channels()) {
    throw std::invalid_argument(what + ": expected 1 (per tensor) or " + std::to_string(out_channels()) +
                                " (per channel) weight scales, found " + std::to_string(scales.size()));
  }
  for (size_t c = 0; c < scales.size(); ++c) {
    channel_params(static_cast<int64_t>(c)).validate(what + ": weight channel " + std::to_string(c));
  }
  const int32_t lo = code_min(bits, is_signed);
  const int32_t hi = code_max(bits, is_signed);
  // run() validates its model on every call: one vectorised pass over the codes decides, and the element by
  // element search below only names the first bad code.
  const CodeRange range = code_range(codes.data(), codes.size());
  const int32_t lowest = std::min(lo, range.lowest), highest = std::max(hi, range.highest);
  const bool binary = bits == 1 && is_signed;  // -1 and +1: 0 lies in [lo, hi] but is not a code
  if (lowest >= lo && highest <= hi && !(binary && std::find(codes.begin(), codes.end(), 0) != codes.end())) {
    return;
  }
  for (size_t i = 0; i < codes.size(); ++i) {
    if (!is_code(codes[i], bits, is_signed)) {
      throw std::invalid_argument(what + ": weight code " + std::to_string(codes[i]) + " at element " +
                                  std::to_string(i) + " is not a " + std::to_string(bits) + "-bit " +
                                  (is_signed ? "signed" : "unsigned") + " code ([" + std::to_string(lo) +
                                  ", " + std::to_string(hi) + "]" +
                                  (bits == 1 && is_signed ? " without 0: binary" : "") + ")");
    }
  }
}

QuantizedWeights quantize_weights(std::span<const float> values, const Dims& shape,
                                  std::vector<double> scales, std::vector<int32_t> zero_points, int bits,
                                  bool is_signed) {
  QuantizedWeights weights{shape, {}, bits, is_signed, std::move(scales), std::move(zero_points)};
  const int64_t count = checked_numel(shape, "quantize_weights");
  if (static_cast<int64_t>(values.size()) != count) {
    throw std::invalid_argument("quantize_weights: shape " + dims_to_string(shape) + " needs " +
                                std::to_string(count) + " values, found " + std::to_string(values.size()));
  }
  weights.codes.assign(values.size(), code_max(bits, is_signed));  // a code of every width
  weights.validate("quantize_weights");  // checks the scales and zero points before they are used
  const int64_t row = weights.row_size();
  for (int64_t c = 0; c < weights.out_channels(); ++c) {
    const QuantParams p = weights.channel_params(c);
    for (int64_t k = 0; k < row; ++k) {
      const size_t i = static_cast<size_t>(c * row + k);
      if (!std::isfinite(values[i])) {
        throw std::invalid_argument("quantize_weights: weight " + std::to_string(i) + " is not finite");
      }
      // The tutorial's order: Z + w / S, then round (half to even, as torch.round) and clamp; binary codes
      // are signs (quant/binarize.h).
      const double q = p.binary() ? (values[i] >= 0.0f ? 1.0 : -1.0)
                                  : std::nearbyint(p.zero_point + static_cast<double>(values[i]) / p.scale);
      weights.codes[i] =
          static_cast<int16_t>(std::clamp(q, static_cast<double>(p.qmin()), static_cast<double>(p.qmax())));
    }
  }
  return weights;
}

namespace {

std::string number(double v) {
  std::ostringstream out;
  out << std::setprecision(3) << v;
  return out.str();
}

// The checks both bias functions share: matching sizes, finite positive scales, finite biases.
void check_bias_scales(std::span<const float> bias, double input_scale,
                       const std::vector<double>& weight_scales, const char* what) {
  if (weight_scales.size() != 1 && weight_scales.size() != bias.size()) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(bias.size()) + " biases but " +
                                std::to_string(weight_scales.size()) + " weight scales");
  }
  if (!std::isfinite(input_scale) || input_scale <= 0.0) {
    throw std::invalid_argument(std::string(what) + ": input scale must be finite and positive");
  }
  for (size_t c = 0; c < bias.size(); ++c) {
    const double scale = input_scale * weight_scales[weight_scales.size() == 1 ? 0 : c];
    if (!std::isfinite(bias[c]) || !std::isfinite(scale) || scale <= 0.0) {
      throw std::invalid_argument(std::string(what) + ": bias " + std::to_string(c) +
                                  " or its scale is not finite");
    }
  }
}

}  // namespace

std::vector<int32_t> quantize_bias(std::span<const float> bias, double input_scale,
                                   const std::vector<double>& weight_scales) {
  check_bias_scales(bias, input_scale, weight_scales, "quantize_bias");
  std::vector<int32_t> codes(bias.size());
  constexpr double kLimit = std::numeric_limits<int32_t>::max();
  size_t worst = 0;  // the bias that needs the largest code
  double worst_code = 0.0;
  size_t beyond = 0;
  for (size_t c = 0; c < bias.size(); ++c) {
    const double scale = input_scale * weight_scales[weight_scales.size() == 1 ? 0 : c];
    const double code = std::nearbyint(bias[c] / scale);
    if (std::abs(code) > std::abs(worst_code)) {
      worst = c;
      worst_code = code;
    }
    if (code < -kLimit - 1 || code > kLimit) {
      ++beyond;
      continue;
    }
    codes[c] = static_cast<int32_t>(code);
  }
  if (beyond > 0) {
    const double scale = input_scale * weight_scales[weight_scales.size() == 1 ? 0 : worst];
    throw std::invalid_argument(
        "quantize_bias: bias " + std::to_string(worst) + " = " + number(bias[worst]) + " needs the code " +
        number(worst_code) + " at the accumulator scale " + number(scale) + " (input scale " +
        number(input_scale) + " x weight scale " + number(scale / input_scale) +
        "), beyond int32 (biases beyond it: " + std::to_string(beyond) + " of " +
        std::to_string(bias.size()) + "): the weights are too small next to the bias for int32 accumulation");
  }
  return codes;
}

std::vector<double> bias_fitting_scales(std::span<const float> bias, double input_scale,
                                        std::vector<double> weight_scales, double code_limit) {
  check_bias_scales(bias, input_scale, weight_scales, "bias_fitting_scales");
  if (!(code_limit > 0.0))
    throw std::invalid_argument("bias_fitting_scales: the code limit must be positive");
  for (size_t c = 0; c < bias.size(); ++c) {
    double& scale = weight_scales[weight_scales.size() == 1 ? 0 : c];
    const double needed = std::abs(bias[c]) / (input_scale * code_limit);
    if (scale >= needed) continue;
    float wider = static_cast<float>(needed);  // the scales are float32 (quant::QParams)
    if (static_cast<double>(wider) < needed)
      wider = std::nextafter(wider, std::numeric_limits<float>::infinity());
    scale = wider;
  }
  return weight_scales;
}

}  // namespace qg::runtime
