#include "runtime/ops/mul_add.h"

#include <cassert>
#include <stdexcept>

#include "runtime/accumulator_bound.h"

namespace qg::runtime {

Dims MulAdd::output_shape(const Dims& input_shape) const {
  if (input_shape.size() != 3) {
    throw std::invalid_argument("expects a [C,H,W] input but got " + dims_to_string(input_shape));
  }
  if (input_shape[0] != channels) {
    throw std::invalid_argument("input has " + std::to_string(input_shape[0]) +
                                " channels but the op expects " + std::to_string(channels) + " (input " +
                                dims_to_string(input_shape) + ")");
  }
  return input_shape;
}

QuantParams MulAdd::output_quant(const QuantParams& incoming) const {
  input_quant.validate_activation("input quantization");
  if (!(incoming == input_quant)) {
    throw std::invalid_argument("the incoming activation has " + quant_to_string(incoming) +
                                " but the op was built for " + quant_to_string(input_quant));
  }
  if (channels < 1)
    throw std::invalid_argument("channels must be positive, found " + std::to_string(channels));
  if (weight.shape != Dims{channels}) {
    throw std::invalid_argument("weight has shape " + dims_to_string(weight.shape) + " but expected [" +
                                std::to_string(channels) + "] (one factor per channel)");
  }
  weight.validate("weight");
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != channels) {
    throw std::invalid_argument("bias has " + std::to_string(bias.size()) + " values but expected " +
                                std::to_string(channels));
  }
  output_stage.validate(channels, "output stage");
  check_accumulator_bound(1, input_quant, weight, bias, "accumulator");
  return output_stage.output;
}

void mul_add_reference(const MulAdd& op, const Dims& input_shape, std::span<const int32_t> input,
                       std::span<int32_t> output, RequantMode mode) {
  assert(input_shape.size() == 3 && input_shape[0] == op.channels);
  assert(input.size() == output.size());
  const int64_t plane = input_shape[1] * input_shape[2];
  const int32_t input_zero = op.input_quant.zero_point;
  for (int64_t c = 0; c < op.channels; ++c) {
    const int32_t factor = op.weight.codes[static_cast<size_t>(c)] - op.weight.zero_point(c);
    const int32_t bias = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(c)];
    for (int64_t i = c * plane; i < (c + 1) * plane; ++i) {
      const int32_t acc = bias + factor * (input[static_cast<size_t>(i)] - input_zero);
      output[static_cast<size_t>(i)] = op.output_stage.apply(acc, c, mode);
    }
  }
}

Activation MulAdd::output(const Activation& incoming) const {
  return {output_shape(incoming.shape), output_quant(incoming.quant)};
}

void MulAdd::forward(const Activation& incoming, std::span<const int32_t> input, std::span<int32_t> output,
                     const OpContext& context) const {
  mul_add_reference(*this, incoming.shape, input, output, context.mode);
}

nlohmann::json MulAdd::encode(TensorWriter& tensors, const std::string& prefix) const {
  nlohmann::json j = {{"channels", channels}};
  write_layer_tensors(*this, prefix, tensors, j);
  return j;
}

MulAdd MulAdd::decode(const JsonField& f, const TensorReader& tensors) {
  MulAdd mul_add;
  mul_add.channels = f["channels"].as_int(1, kMaxElements);
  read_layer_tensors(f, tensors, mul_add);
  return mul_add;
}

}  // namespace qg::runtime
