#include "runtime/ops/linear.h"

#include <cassert>
#include <stdexcept>

#include "runtime/accumulator_bound.h"
#include "runtime/int_dot.h"
#include "runtime/ops/simd_clones.h"

namespace qg::runtime {

Dims Linear::output_shape(const Dims& input_shape) const {
  if (input_shape.size() != 1) {
    throw std::invalid_argument("expects a flat [" + std::to_string(in_features) + "] input but got " +
                                dims_to_string(input_shape) + " (add a flatten op before it)");
  }
  if (input_shape[0] != in_features) {
    throw std::invalid_argument("input has " + std::to_string(input_shape[0]) +
                                " features but the layer expects " + std::to_string(in_features) +
                                " (input " + dims_to_string(input_shape) + ", weight " +
                                dims_to_string(weight.shape) + ")");
  }
  return {out_features};
}

QuantParams Linear::output_quant(const QuantParams& incoming) const {
  input_quant.validate_activation("input quantization");
  if (!(incoming == input_quant)) {
    throw std::invalid_argument("the incoming activation has " + quant_to_string(incoming) +
                                " but the layer was built for " + quant_to_string(input_quant));
  }
  if (in_features < 1 || out_features < 1) {
    throw std::invalid_argument("in_features " + std::to_string(in_features) + " and out_features " +
                                std::to_string(out_features) + " must be positive");
  }
  const Dims expected{out_features, in_features};
  if (weight.shape != expected) {
    throw std::invalid_argument("weight has shape " + dims_to_string(weight.shape) + " but expected " +
                                dims_to_string(expected));
  }
  weight.validate("weight");
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != out_features) {
    throw std::invalid_argument("bias has " + std::to_string(bias.size()) + " values but expected " +
                                std::to_string(out_features));
  }
  output_stage.validate(out_features, "output stage");
  check_accumulator_bound(in_features, input_quant, weight, bias, "accumulator");
  return output_stage.output;
}

void linear_reference(const Linear& op, std::span<const int32_t> input, std::span<int32_t> output,
                      RequantMode mode) {
  assert(static_cast<int64_t>(input.size()) == op.in_features);
  assert(static_cast<int64_t>(output.size()) == op.out_features);
  const int32_t input_zero = op.input_quant.zero_point;
  for (int64_t j = 0; j < op.out_features; ++j) {
    const int32_t weight_zero = op.weight.zero_point(j);
    int32_t acc = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(j)];
    for (int64_t k = 0; k < op.in_features; ++k) {
      const int32_t q1 = input[static_cast<size_t>(k)];
      const int32_t q2 = op.weight.codes[static_cast<size_t>(j * op.in_features + k)];
      acc += (q1 - input_zero) * (q2 - weight_zero);
    }
    output[static_cast<size_t>(j)] = op.output_stage.apply(acc, j, mode);
  }
}

namespace {

// dot[j] = sum_k offsets[k] * weights[j * k_size + k] for the `outputs` rows of a [outputs, k_size] weight
// matrix, compiled for each instruction set (the AVX-512 clone multiplies and adds 32 int16 pairs per
// instruction, the baseline 8).
QG_RUNTIME_CLONES void weight_row_dots(const int16_t* weights, const int16_t* offsets, int64_t k_size,
                                       int64_t outputs, int32_t* dot) {
  for (int64_t j = 0; j < outputs; ++j)
    dot[j] = dot_int16(weights + j * k_size, offsets, k_size);
}

}  // namespace

void linear_fast(const Linear& op, std::span<const int32_t> input, std::span<int32_t> output,
                 RequantMode mode, Scratch& scratch) {
  assert(static_cast<int64_t>(input.size()) == op.in_features);
  assert(static_cast<int64_t>(output.size()) == op.out_features);
  grow_to(scratch.offsets, input.size());
  int32_t offset_sum = 0;
  for (size_t k = 0; k < input.size(); ++k) {
    scratch.offsets[k] = static_cast<int16_t>(input[k] - op.input_quant.zero_point);  // |q1 - Z1| <= 255
    offset_sum += scratch.offsets[k];
  }
  // The products first, into the output (its int32 values are then replaced by codes, one by one).
  weight_row_dots(op.weight.codes.data(), scratch.offsets.data(), op.in_features, op.out_features,
                  output.data());
  for (int64_t j = 0; j < op.out_features; ++j) {
    const int32_t bias = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(j)];
    // sum (q1-Z1)(q2-Z2) = sum (q1-Z1) q2 - Z2 sum (q1-Z1)
    const int32_t acc = bias + output[static_cast<size_t>(j)] - op.weight.zero_point(j) * offset_sum;
    output[static_cast<size_t>(j)] = op.output_stage.apply(acc, j, mode);
  }
}

Activation Linear::output(const Activation& incoming) const {
  return {output_shape(incoming.shape), output_quant(incoming.quant)};
}

void Linear::forward(const Activation&, std::span<const int32_t> input, std::span<int32_t> output,
                     const OpContext& context) const {
  if (context.kernels == KernelChoice::Fast) {
    linear_fast(*this, input, output, context.mode, context.scratch);
  } else {
    linear_reference(*this, input, output, context.mode);
  }
}

nlohmann::json Linear::encode(TensorWriter& tensors, const std::string& prefix) const {
  nlohmann::json j = {{"in_features", in_features}, {"out_features", out_features}};
  write_layer_tensors(*this, prefix, tensors, j);
  return j;
}

Linear Linear::decode(const JsonField& f, const TensorReader& tensors) {
  Linear linear;
  linear.in_features = f["in_features"].as_int(1, kMaxElements);
  linear.out_features = f["out_features"].as_int(1, kMaxElements);
  read_layer_tensors(f, tensors, linear);
  return linear;
}

}  // namespace qg::runtime
