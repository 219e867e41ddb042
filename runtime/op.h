// Op: one step of a model, and the op set: a std::variant with one struct per op. Each op struct is the one
// home of its op (runtime/ops/<op>.h): its name and the model-file version that introduced it, its
// parameters, how it validates them and maps its incoming activations to its output (output), how it
// computes one sample (forward, choosing its fast or reference kernel), and its header JSON (encode,
// decode). The functions below dispatch with std::visit, so the list of ops is written once, in `Op`:
// the model file's known op names, its decoder and the required format version all come from it.
//
// Adding an op (docs/06-adding-a-layer.md): write runtime/ops/<op>.{h,cpp} with
//     static constexpr const char* kName;  static constexpr uint32_t kFormatVersion;
//     Activation output(const Activation&) const;
//     void forward(const Activation&, std::span<const int32_t>, std::span<int32_t>, const OpContext&) const;
//     nlohmann::json encode(TensorWriter&, const std::string& prefix) const;
//     static <Op> decode(const JsonField&, const TensorReader&);
// (a <op>_reference kernel beside it, and a fast one where it matters), and add it to `Op`. An op that
// reads several values (add, concat) declares how many, `static constexpr size_t kMinInputs, kMaxInputs`,
// and takes one activation and one span per value read:
//     Activation output(std::span<const Activation>) const;
//     void forward(std::span<const Activation>, std::span<const std::span<const int32_t>>,
//                  std::span<int32_t>, const OpContext&) const;
// The dispatch below reads that arity (op_arity) and checks it before calling the op. An op that needs a new
// model-file version raises kModelFormatVersion (runtime/model_file.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/activation.h"
#include "runtime/json_field.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/ops/add.h"
#include "runtime/ops/avg_pool2d.h"
#include "runtime/ops/clip.h"
#include "runtime/ops/concat.h"
#include "runtime/ops/conv2d.h"
#include "runtime/ops/flatten.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/max_pool2d.h"
#include "runtime/ops/mul_add.h"
#include "runtime/ops/relu.h"

namespace qg::runtime {

/// The op set, in the order error messages list the op names.
using Op = std::variant<Conv2d, Linear, MulAdd, MaxPool2d, AvgPool2d, ReLU, Flatten, Add, Concat, Clip>;

/// "conv2d", "linear", ...: the op's kName.
const char* op_name(const Op& op);
/// Every op's name, in the order of `Op`.
const std::vector<std::string>& op_names();
/// The model-file format version that introduced the op (its kFormatVersion).
uint32_t op_format_version(const Op& op);

/// How many values an op reads: [min, max] (1 and 1 for most ops; 2 and 2 for add; concat 2 or more).
struct Arity {
  size_t min = 1;
  size_t max = 1;
};
Arity op_arity(const Op& op);
/// "1 input", "2 inputs", "2 or more inputs": for error messages.
std::string arity_to_string(Arity arity);

/// The activation `op` produces from `inputs` (one per value it reads), after validating the op's parameters
/// and its arity against them. Throws std::invalid_argument with a message that does not yet name the op (the
/// model adds that).
Activation op_output(const Op& op, std::span<const Activation> inputs);
/// The same for an op that reads one value.
Activation op_output(const Op& op, const Activation& incoming);

/// Computes one sample: `values[k]` has inputs[k].shape, `output` the op's output shape. The arity must have
/// been checked (op_output).
void op_forward(const Op& op, std::span<const Activation> inputs,
                std::span<const std::span<const int32_t>> values, std::span<int32_t> output,
                const OpContext& context);
/// The same for an op that reads one value: `input` has incoming.shape.
void op_forward(const Op& op, const Activation& incoming, std::span<const int32_t> input,
                std::span<int32_t> output, const OpContext& context);

/// The op's header JSON, `{"type": <name>, ...its fields}`; its tensors go to `tensors` under `prefix`
/// ("ops/3"). (The model adds "inputs" where an op does not read the value before it.)
nlohmann::json encode_op(const Op& op, TensorWriter& tensors, const std::string& prefix);
/// The op that header JSON `f` describes. Throws JsonFieldError naming the path of a bad field, or of an
/// unknown "type" (listing op_names()).
Op decode_op(const JsonField& f, const TensorReader& tensors);

}  // namespace qg::runtime
