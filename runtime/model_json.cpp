#include "runtime/model_json.h"

#include <string>

#include "runtime/json_field.h"
#include "runtime/op_json.h"

namespace qg::runtime {

using nlohmann::json;

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
    h["ops"].push_back(encode_op(model.ops[i], tensors, "ops/" + std::to_string(i)));
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
  for (size_t i = 0; i < count; ++i)
    model.ops.push_back(decode_op(ops[i], tensors));
  model.output.quant = read_quant(root["output"]["quant"]);
  model.metadata = root["metadata"].value();
  plan_model(model);
  return model;
}

}  // namespace qg::runtime
