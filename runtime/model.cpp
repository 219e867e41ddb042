#include "runtime/model.h"

#include <algorithm>
#include <stdexcept>

namespace qg::runtime {

namespace {

Activation input_activation(const Model& model) {
  try {
    model.input.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("input: ") + e.what());
  }
  return {model.input.shape, model.input.quant};
}

Activation checked_op_output(const Op& op, size_t index, const Activation& incoming) {
  try {
    return op_output(op, incoming);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("op " + std::to_string(index) + " (" + op_name(op) + ") on input " +
                                dims_to_string(incoming.shape) + ": " + e.what());
  }
}

}  // namespace

int64_t ModelPlan::largest_activation() const {
  int64_t largest = 0;
  for (const Activation& a : activations)
    largest = std::max(largest, checked_numel(a.shape, "activation"));
  return largest;
}

ModelPlan plan_model(const Model& model) {
  ModelPlan plan;
  plan.activations.push_back(input_activation(model));
  for (size_t i = 0; i < model.ops.size(); ++i) {
    plan.activations.push_back(checked_op_output(model.ops[i], i, plan.activations.back()));
  }
  const QuantParams& last = plan.output().quant;
  if (!(model.output.quant == last)) {
    throw std::invalid_argument("output: dequantization uses " + quant_to_string(model.output.quant) +
                                " but the last activation has " + quant_to_string(last));
  }
  return plan;
}

Model& Model::add(Op op) {
  Activation end = input_activation(*this);
  for (size_t i = 0; i < ops.size(); ++i)
    end = checked_op_output(ops[i], i, end);
  const Activation next = checked_op_output(op, ops.size(), end);
  ops.push_back(std::move(op));
  output.quant = next.quant;
  return *this;
}

}  // namespace qg::runtime
