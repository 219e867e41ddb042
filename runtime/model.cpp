#include "runtime/model.h"

#include <algorithm>
#include <span>
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

std::string op_label(const Op& op, size_t index) {
  return "op " + std::to_string(index) + " (" + op_name(op) + ")";
}

// "input [2,9,9]", "inputs [8,4,4] and [8,4,4]", "inputs [2], [3] and [4]".
std::string describe_inputs(std::span<const Activation> inputs) {
  std::string text = inputs.size() == 1 ? "input " : "inputs ";
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (k > 0) text += k + 1 == inputs.size() ? " and " : ", ";
    text += dims_to_string(inputs[k].shape);
  }
  return text;
}

// The values op `index` reads, checked to be made before it.
std::vector<int64_t> checked_inputs(const Op& op, size_t index, const std::vector<int64_t>& inputs) {
  const std::vector<int64_t> values =
      inputs.empty() ? std::vector<int64_t>{static_cast<int64_t>(index)} : inputs;
  for (size_t k = 0; k < values.size(); ++k) {
    if (values[k] < 0 || values[k] > static_cast<int64_t>(index)) {
      throw std::invalid_argument(op_label(op, index) + ": input " + std::to_string(k) + " is value " +
                                  std::to_string(values[k]) + ", but op " + std::to_string(index) +
                                  " can read only values 0.." + std::to_string(index) +
                                  " (the model input and the outputs of the ops before it)");
    }
  }
  return values;
}

// Appends to `plan` the op `op` (op `index` of a model) reading `inputs`: its resolved inputs and its output.
void plan_op(const Op& op, size_t index, const std::vector<int64_t>& inputs, ModelPlan& plan) {
  std::vector<int64_t> values = checked_inputs(op, index, inputs);
  // One value read: its activation in place; several: copied side by side.
  std::vector<Activation> several;
  std::span<const Activation> incoming(&plan.activations[static_cast<size_t>(values[0])], 1);
  if (values.size() > 1) {
    for (const int64_t v : values)
      several.push_back(plan.activations[static_cast<size_t>(v)]);
    incoming = several;
  }
  try {
    Activation made = op_output(op, incoming);
    plan.activations.push_back(std::move(made));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(op_label(op, index) + " on " + describe_inputs(incoming) + ": " + e.what());
  }
  plan.inputs.push_back(std::move(values));
}

// The values and inputs of every op of `model` (not yet its output check, liveness or buffers).
ModelPlan plan_ops(const Model& model) {
  ModelPlan plan;
  plan.activations.push_back(input_activation(model));
  for (size_t i = 0; i < model.ops.size(); ++i)
    plan_op(model.ops[i], i, model.ops[i].inputs, plan);
  return plan;
}

int64_t numel_of(const ModelPlan& plan, size_t value) {
  return checked_numel(plan.activations[value].shape, "activation");
}

}  // namespace

std::vector<int64_t> Model::inputs_of(size_t i) const {
  const std::vector<int64_t>& inputs = ops.at(i).inputs;
  return inputs.empty() ? std::vector<int64_t>{static_cast<int64_t>(i)} : inputs;
}

int64_t BufferPlan::bytes() const {
  int64_t total = 0;
  for (const int64_t elements : buffer_elements)
    total += elements * static_cast<int64_t>(sizeof(int32_t));
  return total;
}

int64_t ModelPlan::largest_activation() const {
  int64_t largest = 0;
  for (const Activation& a : activations)
    largest = std::max(largest, checked_numel(a.shape, "activation"));
  return largest;
}

int64_t ModelPlan::peak_activation_bytes() const {
  // Walk the ops: the value an op makes joins the live set, and after the op the values it was the last
  // reader of leave it.
  const size_t ops = inputs.size();
  int64_t live = numel_of(*this, 0), peak = live;
  for (size_t i = 0; i < ops; ++i) {
    live += numel_of(*this, i + 1);
    peak = std::max(peak, live);
    for (size_t v = 0; v <= i + 1; ++v) {
      if (last_reader[v] == static_cast<int64_t>(i)) live -= numel_of(*this, v);
    }
  }
  return peak * static_cast<int64_t>(sizeof(int32_t));
}

int64_t ModelPlan::peak_activation_bytes(int64_t batch) const {
  return batch * peak_activation_bytes();
}

BufferPlan plan_buffers(const ModelPlan& plan, const std::vector<bool>& fused_with_next) {
  const size_t ops = plan.inputs.size();
  BufferPlan out;
  out.buffer_of.assign(ops + 1, -1);
  std::vector<bool> in_use;  // per buffer
  size_t step_begin = 0;     // the first op of the current step
  for (size_t i = 0; i < ops; ++i) {
    // Fused with op i + 1 into one step: value i + 1 is never written.
    if (i < fused_with_next.size() && fused_with_next[i]) continue;
    const size_t made = i + 1;
    if (made != ops) {  // the model output goes into run()'s result
      const int64_t need = numel_of(plan, made);
      // Best fit: the smallest free buffer that holds the value, else the largest one (to be grown); the
      // lowest index among equals.
      int best = -1;
      for (size_t b = 0; b < in_use.size(); ++b) {
        if (in_use[b]) continue;
        const int64_t size = out.buffer_elements[b];
        const int64_t best_size = best < 0 ? 0 : out.buffer_elements[static_cast<size_t>(best)];
        const bool fits = size >= need, best_fits = best >= 0 && best_size >= need;
        if (best < 0 || (fits ? !best_fits || size < best_size : !best_fits && size > best_size))
          best = static_cast<int>(b);
      }
      if (best < 0) {
        best = static_cast<int>(in_use.size());
        in_use.push_back(false);
        out.buffer_elements.push_back(0);
      }
      in_use[static_cast<size_t>(best)] = true;
      out.buffer_elements[static_cast<size_t>(best)] =
          std::max(out.buffer_elements[static_cast<size_t>(best)], need);
      out.buffer_of[made] = best;
    }
    // The values last read in this step (ops step_begin..i), and one that no op reads, are done: their
    // buffers are free for the next step.
    for (size_t v = 0; v <= made; ++v) {
      const int64_t reader = plan.last_reader[v];
      if (reader >= static_cast<int64_t>(step_begin) && reader <= static_cast<int64_t>(i) &&
          out.buffer_of[v] >= 0)
        in_use[static_cast<size_t>(out.buffer_of[v])] = false;
    }
    step_begin = i + 1;
  }
  return out;
}

ModelPlan plan_model(const Model& model) {
  ModelPlan plan = plan_ops(model);
  const QuantParams& last = plan.output().quant;
  if (!(model.output.quant == last)) {
    throw std::invalid_argument("output: dequantization uses " + quant_to_string(model.output.quant) +
                                " but the last activation has " + quant_to_string(last));
  }
  const size_t ops = model.ops.size();
  plan.last_reader.resize(ops + 1);
  for (size_t v = 0; v <= ops; ++v)
    plan.last_reader[v] = v == ops ? static_cast<int64_t>(ops) : static_cast<int64_t>(v) - 1;
  for (size_t i = 0; i < ops; ++i) {
    for (const int64_t v : plan.inputs[i])
      plan.last_reader[static_cast<size_t>(v)] =
          std::max<int64_t>(plan.last_reader[static_cast<size_t>(v)], i);
  }
  plan.buffers = plan_buffers(plan);
  return plan;
}

Model& Model::add(Op op) {
  return add(std::move(op), {});
}

Model& Model::add(Op op, std::vector<int64_t> inputs) {
  if (inputs == std::vector<int64_t>{last_value()}) inputs.clear();  // a chain op: one form only
  ModelPlan plan = plan_ops(*this);
  plan_op(op, ops.size(), inputs, plan);
  ops.emplace_back(std::move(op), std::move(inputs));
  output.quant = plan.output().quant;
  return *this;
}

}  // namespace qg::runtime
