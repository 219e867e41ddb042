#include "runtime/model_json.h"

#include <limits>
#include <string>
#include <vector>

#include "runtime/json_field.h"
#include "runtime/op_json.h"

namespace qg::runtime {

using nlohmann::json;

namespace {

// The "inputs" of op `index` described by `f`: the values it reads, each made before it, as many as the op
// takes. Absent (a file of version 1 or 2, or a chain op): the value before the op, returned as {}.
std::vector<int64_t> read_inputs(const JsonField& f, const Op& op, size_t index) {
  const Arity arity = op_arity(op);
  if (!f.has("inputs")) {
    if (arity.min > 1) {
      throw JsonFieldError(f.path() + "/inputs", std::string("missing field (") + op_name(op) + " takes " +
                                                     arity_to_string(arity) + ")");
    }
    return {};
  }
  const JsonField field = f["inputs"];
  const size_t count = field.array_size();
  if (count < arity.min || count > arity.max) {
    field.fail(std::string(op_name(op)) + " takes " + arity_to_string(arity) + ", found " +
               std::to_string(count));
  }
  const auto last = static_cast<int64_t>(index);
  std::vector<int64_t> inputs(count);
  for (size_t k = 0; k < count; ++k) {
    const JsonField value = field[k];
    inputs[k] = value.as_int(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    if (inputs[k] < 0 || inputs[k] > last) {
      value.fail("op " + std::to_string(index) + " can read only values 0.." + std::to_string(index) +
                 " (the model input and the outputs of the ops before it), found " +
                 std::to_string(inputs[k]));
    }
  }
  if (inputs == std::vector<int64_t>{last}) inputs.clear();  // the value before the op: a chain op
  return inputs;
}

}  // namespace

EncodedModel encode_model(const Model& model) {
  plan_model(model);
  EncodedModel out;
  TensorWriter tensors(out.header, out.data);
  json& h = out.header;
  h["input"] = {{"shape", model.input.shape},
                {"quant", quant_json(model.input.quant)},
                {"mean", model.input.mean},
                {"std", model.input.stddev}};
  h["ops"] = json::array();
  for (size_t i = 0; i < model.ops.size(); ++i) {
    json op = encode_op(model.ops[i], tensors, "ops/" + std::to_string(i));
    // Only where the op does not read the value before it: a chain is written exactly as before graphs.
    const std::vector<int64_t> inputs = model.inputs_of(i);
    if (inputs != std::vector<int64_t>{static_cast<int64_t>(i)}) op["inputs"] = inputs;
    h["ops"].push_back(std::move(op));
  }
  h["output"] = {{"quant", quant_json(model.output.quant)}};
  h["metadata"] = model.metadata;
  return out;
}

Model decode_model(const json& header, std::span<const uint8_t> data) {
  const JsonField root(header);
  const TensorReader tensors(root["tensors"], data);
  Model model;
  const JsonField input = root["input"];
  model.input.shape = input["shape"].as_int_array(1, kMaxElements);
  model.input.quant = read_quant(input["quant"]);
  model.input.mean = input["mean"].as_double_array();
  model.input.stddev = input["std"].as_double_array();
  const JsonField ops = root["ops"];
  const size_t count = ops.array_size();
  for (size_t i = 0; i < count; ++i) {
    Node& node = model.ops.emplace_back(decode_op(ops[i], tensors));
    node.inputs = read_inputs(ops[i], node, i);
  }
  model.output.quant = read_quant(root["output"]["quant"]);
  model.metadata = root["metadata"].value();
  plan_model(model);
  return model;
}

}  // namespace qg::runtime
