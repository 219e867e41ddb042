#include "runtime/ops/clip.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <stdexcept>

namespace qg::runtime {

Activation Clip::output(const Activation& incoming) const {
  const QuantParams& q = incoming.quant;
  if (clamp_min > clamp_max || clamp_min < q.qmin() || clamp_max > q.qmax()) {
    throw std::invalid_argument("clamp range [" + std::to_string(clamp_min) + ", " +
                                std::to_string(clamp_max) +
                                "] is not an ordered range inside the input codes [" +
                                std::to_string(q.qmin()) + ", " + std::to_string(q.qmax()) + "]");
  }
  return incoming;
}

void clip_reference(const Clip& op, std::span<const int32_t> input, std::span<int32_t> output) {
  assert(input.size() == output.size());
  for (size_t i = 0; i < input.size(); ++i)
    output[i] = std::clamp(input[i], op.clamp_min, op.clamp_max);
}

void Clip::forward(const Activation&, std::span<const int32_t> input, std::span<int32_t> output,
                   const OpContext&) const {
  clip_reference(*this, input, output);
}

nlohmann::json Clip::encode(TensorWriter&, const std::string&) const {
  return {{"clamp", nlohmann::json::array({clamp_min, clamp_max})}};
}

Clip Clip::decode(const JsonField& f, const TensorReader&) {
  constexpr int64_t kLow = std::numeric_limits<int32_t>::min(), kHigh = std::numeric_limits<int32_t>::max();
  const std::vector<int64_t> clamp = f["clamp"].as_int_array(kLow, kHigh, 2);
  return Clip{static_cast<int32_t>(clamp[0]), static_cast<int32_t>(clamp[1])};
}

}  // namespace qg::runtime
