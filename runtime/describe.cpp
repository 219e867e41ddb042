#include "runtime/describe.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <sstream>
#include <variant>

namespace qg::runtime {

namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// ---- gathering the numbers ----------------------------------------------------------------------------

DescribedMultiplier described(std::string name, double real, QuantizedMultiplier fixed) {
  return {std::move(name), real, fixed};
}

ChannelDescription describe_channel(const LayerDescription& layer, const QuantizedWeights& weight,
                                    const std::vector<int32_t>& bias, const OutputStage& stage, int64_t c) {
  const size_t m = stage.per_channel() ? static_cast<size_t>(c) : 0;
  const size_t w = weight.per_channel() ? static_cast<size_t>(c) : 0;
  ChannelDescription channel;
  channel.weight_scale = weight.scales[w];
  channel.weight_zero_point = weight.zero_points[w];
  channel.multiplier = described("M", stage.real_multipliers[m], stage.multipliers[m]);
  const auto row = weight.codes.begin() + c * weight.row_size();
  const auto [lowest, highest] = std::minmax_element(row, row + weight.row_size());
  channel.code_min = *lowest;
  channel.code_max = *highest;
  channel.bound = channel_accumulator_bound(layer.products, layer.input, weight, bias, c);
  return channel;
}

// conv2d, linear and mul_add share these fields (runtime/op_json.h reads and writes them alike).
template <class Layer>
LayerDescription describe_layer(const Layer& op) {
  LayerDescription layer;
  layer.input = op.input_quant;
  layer.output = op.output_stage.output;
  layer.weight_bits = op.weight.bits;
  layer.weight_signed = op.weight.is_signed;
  layer.per_channel = op.weight.per_channel() || op.output_stage.per_channel();
  layer.products = op.weight.row_size();
  layer.input_offset = max_input_offset(op.input_quant);
  layer.has_bias = !op.bias.empty();
  layer.clamp_min = op.output_stage.clamp_min;
  layer.clamp_max = op.output_stage.clamp_max;
  for (int64_t c = 0; c < op.weight.out_channels(); ++c)
    layer.channels.push_back(describe_channel(layer, op.weight, op.bias, op.output_stage, c));
  layer.bound = accumulator_bound(layer.products, op.input_quant, op.weight, op.bias);
  return layer;
}

void describe_op(const Conv2d& op, NodeDescription& node) {
  node.geometry = op.window.describe() + ", groups " + std::to_string(op.groups);
  node.layer = describe_layer(op);
}
void describe_op(const Linear& op, NodeDescription& node) {
  node.layer = describe_layer(op);
}
void describe_op(const MulAdd& op, NodeDescription& node) {
  node.layer = describe_layer(op);
}
void describe_op(const MaxPool2d& op, NodeDescription& node) {
  node.geometry = op.window.describe();
}
void describe_op(const AvgPool2d& op, NodeDescription& node) {
  node.geometry = op.window.describe();
}
void describe_op(const Add& op, NodeDescription& node) {
  const auto [m_a, m_b, m_out] = add_real_multipliers(op.input_quant[0], op.input_quant[1], op.output_quant);
  node.multipliers = {described("M_a", m_a, op.params.input_multipliers[0]),
                      described("M_b", m_b, op.params.input_multipliers[1]),
                      described("M_out", m_out, op.params.output_multiplier)};
  node.clamp = {op.params.clamp_min, op.params.clamp_max};
}
void describe_op(const Concat& op, NodeDescription& node) {
  for (size_t k = 0; k < op.params.size(); ++k) {
    node.multipliers.push_back(described(
        "M_" + std::to_string(k), op.input_quant[k].scale / op.output_quant.scale, op.params[k].multiplier));
  }
}
void describe_op(const Clip& op, NodeDescription& node) {
  node.clamp = {op.clamp_min, op.clamp_max};
}
void describe_op(const ReLU&, NodeDescription&) {}
void describe_op(const Flatten&, NodeDescription&) {}

// ---- text ---------------------------------------------------------------------------------------------

// Six significant digits: enough to recognise a scale, short enough to read.
std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string code_range(int32_t lo, int32_t hi) {
  return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

std::string bits_text(int bits, bool is_signed) {
  return std::to_string(bits) + "-bit " + (is_signed ? "signed" : "unsigned");
}

std::string quant_text(const QuantParams& q) {
  return "S = " + number(q.scale) + ", Z = " + std::to_string(q.zero_point) + ", " +
         bits_text(q.bits, q.is_signed) + " " + code_range(q.qmin(), q.qmax());
}

std::string multiplier_text(const DescribedMultiplier& m) {
  return number(m.real) + " -> M0 = " + std::to_string(m.fixed.multiplier) +
         ", shift = " + std::to_string(m.fixed.shift);
}

std::string values_text(const std::vector<int64_t>& values, const std::vector<Activation>& activations) {
  std::string text;
  for (size_t k = 0; k < values.size(); ++k) {
    if (k > 0) text += ", ";
    text += "value " + std::to_string(values[k]) + " " + dims_to_string(activations[k].shape);
  }
  return text;
}

template <class Get>
std::pair<double, double> range_of(const std::vector<ChannelDescription>& channels, Get get) {
  double lo = get(channels.front()), hi = lo;
  for (const ChannelDescription& c : channels) {
    lo = std::min(lo, static_cast<double>(get(c)));
    hi = std::max(hi, static_cast<double>(get(c)));
  }
  return {lo, hi};
}

std::string clamp_text(const LayerDescription& layer) {
  std::string text = "clamp " + code_range(layer.clamp_min, layer.clamp_max);
  const bool full_range = layer.clamp_min == layer.output.qmin() && layer.clamp_max == layer.output.qmax();
  if (layer.fused_relu() && !full_range) return text + "   (fused ReLU: clamp_min = Z_out)";
  if (layer.fused_relu())
    return text + "   (clamp_min = Z_out = the smallest code: a ReLU by the output grid)";
  if (full_range) return text + "   (the output code range: no activation)";
  return text + "   (a fused activation: real " +
         number(layer.output.scale * (layer.clamp_min - layer.output.zero_point)) + " .. " +
         number(layer.output.scale * (layer.clamp_max - layer.output.zero_point)) + ")";
}

std::string bound_text(const LayerDescription& layer) {
  const AccumulatorBound& b = layer.bound;
  char share[32];
  std::snprintf(share, sizeof share, "%.3g%%", 100.0 * static_cast<double>(b.value) / kInt32Max);
  return "int32 bound: K = " + std::to_string(layer.products) +
         " products, A = max|q_in - Z_in| = " + std::to_string(layer.input_offset) +
         ", |acc| <= " + std::to_string(b.accumulator) + "; largest intermediate " + std::to_string(b.value) +
         " (" + b.term + ", channel " + std::to_string(b.channel) + ") = " + share +
         " of 2^31-1: " + (layer.fits_int32() ? "fits" : "DOES NOT FIT");
}

void per_tensor_text(std::ostringstream& out, const LayerDescription& layer) {
  const ChannelDescription& c = layer.channels.front();
  out << "      weight  S = " << number(c.weight_scale) << ", Z = " << c.weight_zero_point << ", "
      << bits_text(layer.weight_bits, layer.weight_signed) << ", per tensor; codes used "
      << code_range(layer.code_min(), layer.code_max()) << "\n";
  out << "      M = S_in*S_w/S_out = " << multiplier_text(c.multiplier) << "\n";
}

void per_channel_text(std::ostringstream& out, const LayerDescription& layer) {
  const auto [s_lo, s_hi] =
      range_of(layer.channels, [](const ChannelDescription& c) { return c.weight_scale; });
  const auto [m_lo, m_hi] =
      range_of(layer.channels, [](const ChannelDescription& c) { return c.multiplier.real; });
  out << "      weight  per channel (" << layer.channels.size() << "): S_w in [" << number(s_lo) << ", "
      << number(s_hi) << "], " << bits_text(layer.weight_bits, layer.weight_signed) << "; codes used "
      << code_range(layer.code_min(), layer.code_max()) << "\n";
  out << "      M = S_in*S_w[c]/S_out in [" << number(m_lo) << ", " << number(m_hi) << "]\n";
  out << "      channel  S_w          Z_w   M            M0          shift  codes         |acc| <=\n";
  char line[160];
  for (size_t c = 0; c < layer.channels.size(); ++c) {
    const ChannelDescription& ch = layer.channels[c];
    std::snprintf(line, sizeof line, "      %7zu  %-11s  %4d  %-11s  %10d  %5d  %-12s  %" PRId64 "\n", c,
                  number(ch.weight_scale).c_str(), ch.weight_zero_point, number(ch.multiplier.real).c_str(),
                  ch.multiplier.fixed.multiplier, ch.multiplier.fixed.shift,
                  code_range(ch.code_min, ch.code_max).c_str(), ch.bound.accumulator);
    out << line;
  }
}

void layer_text(std::ostringstream& out, const LayerDescription& layer) {
  out << "      input   " << quant_text(layer.input) << "\n";
  if (layer.per_channel) {
    per_channel_text(out, layer);
  } else {
    per_tensor_text(out, layer);
  }
  out << "      output  " << quant_text(layer.output) << "\n";
  out << "      bias    " << (layer.has_bias ? "int32 at scale S_in*S_w, zero point 0" : "none") << "\n";
  out << "      " << clamp_text(layer) << "\n";
  out << "      " << bound_text(layer) << "\n";
}

void node_text(std::ostringstream& out, const NodeDescription& node) {
  out << "op " << node.index << "  " << node.op << "  reads " << values_text(node.inputs, node.input_values)
      << " -> value " << node.index + 1 << " " << dims_to_string(node.output.shape) << "\n";
  if (!node.geometry.empty()) out << "      " << node.geometry << "\n";
  if (node.layer) {
    layer_text(out, *node.layer);
    return;
  }
  if (node.input_values.size() > 1 || !node.multipliers.empty()) {
    for (size_t k = 0; k < node.input_values.size(); ++k)
      out << "      input " << k << " " << quant_text(node.input_values[k].quant) << "\n";
  }
  for (const DescribedMultiplier& m : node.multipliers)
    out << "      " << m.name << " = " << multiplier_text(m) << "\n";
  out << "      output  " << quant_text(node.output.quant) << "\n";
  if (node.clamp) out << "      clamp " << code_range(node.clamp->first, node.clamp->second) << "\n";
}

// ---- JSON ---------------------------------------------------------------------------------------------

nlohmann::json quant_facts_json(const QuantParams& q) {
  return {{"scale", q.scale},      {"zero_point", q.zero_point}, {"bits", q.bits},
          {"signed", q.is_signed}, {"qmin", q.qmin()},           {"qmax", q.qmax()}};
}

nlohmann::json multiplier_json(const DescribedMultiplier& m) {
  return {{"name", m.name}, {"real", m.real}, {"M0", m.fixed.multiplier}, {"shift", m.fixed.shift}};
}

nlohmann::json bound_json(const AccumulatorBound& b) {
  return {{"accumulator", b.accumulator}, {"largest", b.value}, {"term", b.term}, {"channel", b.channel}};
}

nlohmann::json layer_json(const LayerDescription& layer) {
  nlohmann::json channels = nlohmann::json::array();
  for (const ChannelDescription& c : layer.channels) {
    channels.push_back({{"weight_scale", c.weight_scale},
                        {"weight_zero_point", c.weight_zero_point},
                        {"multiplier", multiplier_json(c.multiplier)},
                        {"weight_codes", {c.code_min, c.code_max}},
                        {"bound", bound_json(c.bound)}});
  }
  return {{"input_quant", quant_facts_json(layer.input)},
          {"output_quant", quant_facts_json(layer.output)},
          {"weight_bits", layer.weight_bits},
          {"weight_signed", layer.weight_signed},
          {"per_channel", layer.per_channel},
          {"weight_codes", {layer.code_min(), layer.code_max()}},
          {"has_bias", layer.has_bias},
          {"clamp", {layer.clamp_min, layer.clamp_max}},
          {"fused_relu", layer.fused_relu()},
          {"products", layer.products},
          {"input_offset", layer.input_offset},
          {"bound", bound_json(layer.bound)},
          {"fits_int32", layer.fits_int32()},
          {"channels", channels}};
}

nlohmann::json node_json(const NodeDescription& node) {
  nlohmann::json j = {{"index", node.index},
                      {"op", node.op},
                      {"inputs", node.inputs},
                      {"output_shape", node.output.shape},
                      {"output_quant", quant_facts_json(node.output.quant)}};
  if (!node.geometry.empty()) j["geometry"] = node.geometry;
  if (node.layer) j["layer"] = layer_json(*node.layer);
  if (!node.multipliers.empty()) {
    j["multipliers"] = nlohmann::json::array();
    for (const DescribedMultiplier& m : node.multipliers)
      j["multipliers"].push_back(multiplier_json(m));
  }
  if (node.clamp) j["clamp"] = {node.clamp->first, node.clamp->second};
  return j;
}

}  // namespace

bool LayerDescription::fits_int32() const {
  return bound.value <= kInt32Max;
}

int32_t LayerDescription::code_min() const {
  int32_t lo = channels.front().code_min;
  for (const ChannelDescription& c : channels)
    lo = std::min(lo, c.code_min);
  return lo;
}

int32_t LayerDescription::code_max() const {
  int32_t hi = channels.front().code_max;
  for (const ChannelDescription& c : channels)
    hi = std::max(hi, c.code_max);
  return hi;
}

std::vector<NodeDescription> describe_model(const Model& model) {
  const ModelPlan plan = plan_model(model);
  std::vector<NodeDescription> nodes;
  for (size_t i = 0; i < model.ops.size(); ++i) {
    NodeDescription node;
    node.index = i;
    node.op = op_name(model.ops[i]);
    node.inputs = plan.inputs[i];
    for (const int64_t v : node.inputs)
      node.input_values.push_back(plan.activations[static_cast<size_t>(v)]);
    node.output = plan.activations[i + 1];
    std::visit([&](const auto& op) { describe_op(op, node); }, model.ops[i].op());
    nodes.push_back(std::move(node));
  }
  return nodes;
}

std::string describe_text(const Model& model, const std::vector<NodeDescription>& nodes) {
  std::ostringstream out;
  out << "value 0  model input " << dims_to_string(model.input.shape) << "  " << quant_text(model.input.quant)
      << "\n";
  for (const NodeDescription& node : nodes)
    node_text(out, node);
  out << "model output: value " << nodes.size()
      << ", dequantized with S = " << number(model.output.quant.scale)
      << ", Z = " << model.output.quant.zero_point << "\n";
  return out.str();
}

nlohmann::json describe_json(const Model& model, const std::vector<NodeDescription>& nodes) {
  nlohmann::json ops = nlohmann::json::array();
  for (const NodeDescription& node : nodes)
    ops.push_back(node_json(node));
  return {{"input", {{"shape", model.input.shape}, {"quant", quant_facts_json(model.input.quant)}}},
          {"ops", ops},
          {"output", {{"quant", quant_facts_json(model.output.quant)}}}};
}

}  // namespace qg::runtime
