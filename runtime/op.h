// Op: one step of a model (a std::variant over the op structs) and the two things every op does:
// map an incoming activation's shape and quantization to its output's, and compute that output.
//
// Adding an op: write runtime/ops/<name>.{h,cpp} (struct with kName and output_shape, a reference kernel
// and, if it matters, a fast one), add it to the variant and to the two visitors in op.cpp, and give it
// a JSON form in model_json.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <variant>

#include "runtime/dims.h"
#include "runtime/ops/avg_pool2d.h"
#include "runtime/ops/conv2d.h"
#include "runtime/ops/flatten.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/max_pool2d.h"
#include "runtime/ops/mul_add.h"
#include "runtime/ops/relu.h"
#include "runtime/output_stage.h"
#include "runtime/quant_params.h"
#include "runtime/scratch.h"

namespace qg::runtime {

using Op = std::variant<Conv2d, Linear, MaxPool2d, AvgPool2d, ReLU, Flatten, MulAdd>;

/// The shape (one sample) and quantization of an activation flowing between ops.
struct Activation {
  Dims shape;
  QuantParams quant;
};

/// Which kernel an op runs: the fast one where it exists, or always the naive reference.
enum class KernelChoice { Fast, Reference };

/// "conv2d", "linear", ...: the op's kName.
const char* op_name(const Op& op);

/// The activation `op` produces from `incoming`, after validating the op's parameters against it.
/// Throws std::invalid_argument with a message that does not yet name the op (the model adds that).
Activation op_output(const Op& op, const Activation& incoming);

/// Computes one sample: `input` has incoming.shape, `output` the op's output shape.
void op_forward(const Op& op, const Activation& incoming, std::span<const int32_t> input,
                std::span<int32_t> output, RequantMode mode, KernelChoice kernels, Scratch& scratch);

}  // namespace qg::runtime
