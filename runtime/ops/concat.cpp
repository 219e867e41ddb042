#include "runtime/ops/concat.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "runtime/ops/simd_clones.h"

namespace qg::runtime {

ConcatInputParams make_concat_input_params(const QuantParams& input, const QuantParams& output) {
  input.validate_activation("input quantization");
  output.validate_activation("output quantization");
  ConcatInputParams p;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  p.output_min = output.qmin();
  p.output_max = output.qmax();
  p.identity = input == output;
  p.multiplier = quantize_multiplier(input.scale / output.scale);  // 1.0 -> {2^30, 1}: exactly q - Z_k
  return p;
}

Concat Concat::make(const std::vector<QuantParams>& inputs, const QuantParams& output) {
  Concat concat{inputs, output, {}};
  for (size_t k = 0; k < inputs.size(); ++k) {
    try {
      concat.params.push_back(make_concat_input_params(inputs[k], output));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("input " + std::to_string(k) + ": " + e.what());
    }
  }
  return concat;
}

Dims Concat::output_shape(std::span<const Activation> inputs) const {
  assert(!inputs.empty());
  const Dims& first = inputs[0].shape;
  if (first.empty()) throw std::invalid_argument("cannot concatenate scalars (input 0 has shape [])");
  Dims shape = first;
  shape[0] = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Dims& s = inputs[k].shape;
    if (s.size() != first.size() || !std::equal(s.begin() + 1, s.end(), first.begin() + 1)) {
      throw std::invalid_argument("input " + std::to_string(k) + " has shape " + dims_to_string(s) +
                                  ", which does not match input 0's " + dims_to_string(first) +
                                  " outside the channel axis (dim 0)");
    }
    shape[0] += s[0];  // each at most kMaxElements: no overflow before the check below
    checked_numel(shape, "output");
  }
  return shape;
}

Activation Concat::output(std::span<const Activation> inputs) const {
  if (input_quant.size() != inputs.size()) {
    const size_t built = input_quant.size();
    throw std::invalid_argument("the op was built for " + std::to_string(built) +
                                (built == 1 ? " input" : " inputs") + " but reads " +
                                std::to_string(inputs.size()) + " values");
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!(inputs[k].quant == input_quant[k])) {
      throw std::invalid_argument("input " + std::to_string(k) + " has " + quant_to_string(inputs[k].quant) +
                                  " but the op was built for " + quant_to_string(input_quant[k]));
    }
  }
  const Dims shape = output_shape(inputs);
  if (params != make(input_quant, output_quant).params) {
    throw std::invalid_argument(
        "the fixed-point parameters do not match make_concat_input_params of the quantizations (make the op "
        "with Concat::make)");
  }
  return {shape, output_quant};
}

void concat_reference(const Concat& op, std::span<const std::span<const int32_t>> values,
                      std::span<int32_t> output) {
  size_t at = 0;
  for (size_t k = 0; k < values.size(); ++k) {
    for (const int32_t code : values[k])
      output[at++] = concat_code(code, op.params[k]);
  }
  assert(at == output.size());
}

namespace {

QG_RUNTIME_CLONES
void requantize_block(const ConcatInputParams p, const int32_t* input, int32_t* output, size_t n) {
  for (size_t i = 0; i < n; ++i)
    output[i] = concat_code(input[i], p);
}

}  // namespace

void concat_fast(const Concat& op, std::span<const std::span<const int32_t>> values,
                 std::span<int32_t> output) {
  int32_t* out = output.data();
  for (size_t k = 0; k < values.size(); ++k) {
    if (op.params[k].identity) {
      std::copy(values[k].begin(), values[k].end(), out);
    } else {
      requantize_block(op.params[k], values[k].data(), out, values[k].size());
    }
    out += values[k].size();
  }
  assert(out == output.data() + output.size());
}

void Concat::forward(std::span<const Activation>, std::span<const std::span<const int32_t>> values,
                     std::span<int32_t> output, const OpContext& context) const {
  if (context.kernels == KernelChoice::Fast) {
    concat_fast(*this, values, output);
  } else {
    concat_reference(*this, values, output);
  }
}

nlohmann::json Concat::encode(TensorWriter&, const std::string&) const {
  nlohmann::json quants = nlohmann::json::array();
  for (const QuantParams& q : input_quant)
    quants.push_back(quant_json(q));
  return {{"input_quants", quants}, {"output_quant", quant_json(output_quant)}};
}

Concat Concat::decode(const JsonField& f, const TensorReader&) {
  const JsonField quants = f["input_quants"];
  std::vector<QuantParams> inputs(quants.array_size());
  for (size_t k = 0; k < inputs.size(); ++k)
    inputs[k] = read_quant(quants[k]);
  const QuantParams output = read_quant(f["output_quant"]);
  try {
    return make(inputs, output);
  } catch (const std::invalid_argument& e) {
    f.fail(e.what());  // scales valid each on its own but too far apart
  }
}

}  // namespace qg::runtime
