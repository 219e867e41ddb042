#include "runtime/output_stage.h"

#include <cmath>
#include <stdexcept>

namespace qg::runtime {

OutputStage OutputStage::make(double input_scale, const std::vector<double>& weight_scales,
                              const QuantParams& output, bool fused_relu) {
  output.validate_activation("OutputStage::make: output");
  if (weight_scales.empty()) throw std::invalid_argument("OutputStage::make: no weight scales");
  OutputStage stage;
  stage.output = output;
  for (const double weight_scale : weight_scales) {
    const double real = input_scale * weight_scale / output.scale;
    stage.real_multipliers.push_back(real);
    stage.multipliers.push_back(quantize_multiplier(real));
  }
  stage.clamp_min = fused_relu ? output.zero_point : output.qmin();
  stage.clamp_max = output.qmax();
  return stage;
}

void OutputStage::validate(int64_t channels, const std::string& what) const {
  output.validate_activation(what + ": output");
  const size_t count = multipliers.size();
  if (count != 1 && static_cast<int64_t>(count) != channels) {
    throw std::invalid_argument(what + ": expected 1 or " + std::to_string(channels) +
                                " requantization multipliers, found " + std::to_string(count));
  }
  if (real_multipliers.size() != count) {
    throw std::invalid_argument(what + ": " + std::to_string(count) + " fixed-point multipliers but " +
                                std::to_string(real_multipliers.size()) + " real ones");
  }
  for (size_t c = 0; c < count; ++c) {
    const std::string channel = what + ": multiplier " + std::to_string(c);
    QuantizedMultiplier expected;
    try {
      expected = quantize_multiplier(real_multipliers[c]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(channel + ": " + e.what());
    }
    if (multipliers[c] != expected) {
      throw std::invalid_argument(
          channel + ": fixed-point form {" + std::to_string(multipliers[c].multiplier) + ", shift " +
          std::to_string(multipliers[c].shift) + "} does not match " + "quantize_multiplier(" +
          std::to_string(real_multipliers[c]) + ") = {" + std::to_string(expected.multiplier) + ", shift " +
          std::to_string(expected.shift) + "}");
    }
  }
  if (clamp_min > clamp_max || clamp_min < output.qmin() || clamp_max > output.qmax()) {
    throw std::invalid_argument(what + ": clamp range [" + std::to_string(clamp_min) + ", " +
                                std::to_string(clamp_max) +
                                "] is not an ordered range inside the output codes [" +
                                std::to_string(output.qmin()) + ", " + std::to_string(output.qmax()) + "]");
  }
}

}  // namespace qg::runtime
