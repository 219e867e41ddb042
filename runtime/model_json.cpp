#include "runtime/model_json.h"

#include <limits>
#include <string>

#include "runtime/bit_packing.h"
#include "runtime/json_field.h"

namespace qg::runtime {

namespace {

using nlohmann::json;

constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// ---- encoding ---------------------------------------------------------------------------------

json quant_json(const QuantParams& q) {
  return {{"scale", q.scale}, {"zero_point", q.zero_point}, {"bits", q.bits}, {"signed", q.is_signed}};
}

json pair_json(const std::array<int64_t, 2>& pair) {
  return json::array({pair[0], pair[1]});
}

/// Appends tensors to the data section and describes them in the header's table.
class TensorWriter {
 public:
  explicit TensorWriter(EncodedModel& out) : out_(out) { out_.header["tensors"] = json::array(); }

  /// Weight codes, packed at the weights' bit width. Returns the tensor's index.
  int64_t add_codes(const std::string& name, const QuantizedWeights& w) {
    const size_t offset = out_.data.size();
    pack_codes(w.codes, w.bits, w.is_signed, out_.data);
    return add_entry(name, (w.is_signed ? "int" : "uint") + std::to_string(w.bits), w.shape, offset);
  }

  int64_t add_int32(const std::string& name, const std::vector<int32_t>& values) {
    const size_t offset = out_.data.size();
    pack_int32_le(values, out_.data);
    return add_entry(name, "int32", {static_cast<int64_t>(values.size())}, offset);
  }

 private:
  int64_t add_entry(const std::string& name, const std::string& dtype, const Dims& shape, size_t offset) {
    json& table = out_.header["tensors"];
    table.push_back({{"name", name},
                     {"dtype", dtype},
                     {"shape", shape},
                     {"offset", offset},
                     {"length", out_.data.size() - offset}});
    return static_cast<int64_t>(table.size()) - 1;
  }
  EncodedModel& out_;
};

json output_stage_json(const OutputStage& stage) {
  json multipliers = json::array();
  for (const QuantizedMultiplier& m : stage.multipliers)
    multipliers.push_back({m.multiplier, m.shift});
  return {{"output_quant", quant_json(stage.output)},
          {"clamp", {stage.clamp_min, stage.clamp_max}},
          {"real_multipliers", stage.real_multipliers},
          {"multipliers", multipliers}};
}

/// The weight, bias and output stage fields shared by conv2d, linear and mul_add.
template <class Layer>
void write_layer_tensors(const Layer& layer, const std::string& prefix, TensorWriter& tensors, json& op) {
  op["input_quant"] = quant_json(layer.input_quant);
  op["weight"] = {{"tensor", tensors.add_codes(prefix + "/weight", layer.weight)},
                  {"bits", layer.weight.bits},
                  {"signed", layer.weight.is_signed},
                  {"scales", layer.weight.scales},
                  {"zero_points", layer.weight.zero_points}};
  op["bias"] =
      layer.bias.empty() ? json(nullptr) : json{{"tensor", tensors.add_int32(prefix + "/bias", layer.bias)}};
  op["output_stage"] = output_stage_json(layer.output_stage);
}

json window_json(const char* type, const Window2d& w) {
  return {{"type", type},
          {"kernel", pair_json(w.kernel)},
          {"stride", pair_json(w.stride)},
          {"padding", pair_json(w.padding)}};
}

json op_json(const Op& op, const std::string& prefix, TensorWriter& tensors) {
  if (const auto* conv = std::get_if<Conv2d>(&op)) {
    json j = {{"type", Conv2d::kName},
              {"in_channels", conv->in_channels},
              {"out_channels", conv->out_channels},
              {"groups", conv->groups},
              {"kernel", pair_json(conv->window.kernel)},
              {"stride", pair_json(conv->window.stride)},
              {"padding", pair_json(conv->window.padding)},
              {"dilation", pair_json(conv->window.dilation)}};
    write_layer_tensors(*conv, prefix, tensors, j);
    return j;
  }
  if (const auto* linear = std::get_if<Linear>(&op)) {
    json j = {{"type", Linear::kName},
              {"in_features", linear->in_features},
              {"out_features", linear->out_features}};
    write_layer_tensors(*linear, prefix, tensors, j);
    return j;
  }
  if (const auto* mul_add = std::get_if<MulAdd>(&op)) {
    json j = {{"type", MulAdd::kName}, {"channels", mul_add->channels}};
    write_layer_tensors(*mul_add, prefix, tensors, j);
    return j;
  }
  if (const auto* pool = std::get_if<MaxPool2d>(&op)) return window_json(MaxPool2d::kName, pool->window);
  if (const auto* pool = std::get_if<AvgPool2d>(&op)) return window_json(AvgPool2d::kName, pool->window);
  return {{"type", op_name(op)}};  // relu, flatten: no parameters
}

// ---- decoding ---------------------------------------------------------------------------------

QuantParams read_quant(const JsonField& f) {
  QuantParams q;
  q.scale = f["scale"].as_double();
  q.zero_point = static_cast<int32_t>(f["zero_point"].as_int(kInt32Min, kInt32Max));
  q.bits = static_cast<int>(f["bits"].as_int(1, 8));
  q.is_signed = f["signed"].as_bool();
  try {
    q.validate("quantization");
  } catch (const std::invalid_argument& e) {
    f.fail(e.what());
  }
  return q;
}

std::array<int64_t, 2> read_pair(const JsonField& f, int64_t min) {
  const std::vector<int64_t> v = f.as_int_array(min, kMaxWindowSize, 2);
  return {v[0], v[1]};
}

/// One entry of the "tensors" table, checked against the data section.
struct TensorEntry {
  std::string dtype;
  Dims shape;
  int64_t count = 0;  // elements
  std::span<const uint8_t> bytes;
};

/// Parses "int32", "uintB" or "intB" (B in 1..8) into (bits, signed); bits 32 for int32.
bool parse_dtype(const std::string& dtype, int& bits, bool& is_signed) {
  if (dtype == "int32") {
    bits = 32;
    is_signed = true;
    return true;
  }
  is_signed = dtype.rfind("int", 0) == 0;
  const std::string prefix = is_signed ? "int" : "uint";
  if (dtype.rfind(prefix, 0) != 0 || dtype.size() != prefix.size() + 1) return false;
  const char digit = dtype.back();
  if (digit < '1' || digit > '8') return false;
  bits = digit - '0';
  return true;
}

class TensorReader {
 public:
  TensorReader(const JsonField& table, std::span<const uint8_t> data) : table_(table), data_(data) {
    const size_t count = table.array_size();
    for (size_t i = 0; i < count; ++i)
      entries_.push_back(read_entry(table[i]));
  }

  /// The weight codes a layer refers to with weight field `f` (which holds "tensor", "bits", "signed").
  std::vector<int16_t> codes(const JsonField& f, int bits, bool is_signed, Dims& shape) const {
    const JsonField index_field = f["tensor"];
    const size_t index = entry_index(index_field);
    const TensorEntry& e = entries_[index];
    const JsonField dtype_field = table_[index]["dtype"];
    int storage_bits = 0;
    bool storage_signed = false;
    parse_dtype(e.dtype, storage_bits, storage_signed);
    // Codes may be stored wider than their quantization (e.g. 4-bit codes one per byte), never narrower.
    if (storage_bits == 32 || storage_signed != is_signed || storage_bits < bits) {
      dtype_field.fail("dtype " + e.dtype + " cannot hold " + std::to_string(bits) + "-bit " +
                       (is_signed ? "signed" : "unsigned") + " weight codes (tensor referenced from " +
                       index_field.path() + ")");
    }
    std::vector<int16_t> codes;
    if (!unpack_codes(e.bytes, e.count, storage_bits, storage_signed, codes)) {
      table_[index].fail("the unused bits of the last byte are not zero");
    }
    const int32_t lo = code_min(bits, is_signed), hi = code_max(bits, is_signed);
    for (size_t i = 0; i < codes.size(); ++i) {
      if (!is_code(codes[i], bits, is_signed)) {
        table_[index].fail("code " + std::to_string(codes[i]) + " at element " + std::to_string(i) +
                           " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]" +
                           (bits == 1 && is_signed ? " (binary: -1 or +1)" : "") + " for " +
                           std::to_string(bits) + "-bit weights (" + index_field.path() + ")");
      }
    }
    shape = e.shape;
    return codes;
  }

  /// The int32 values (a bias) that field `f` (holding "tensor") refers to.
  std::vector<int32_t> int32s(const JsonField& f) const {
    const size_t index = entry_index(f["tensor"]);
    const TensorEntry& e = entries_[index];
    if (e.dtype != "int32") {
      table_[index]["dtype"].fail("expected int32 for the bias referenced from " + f.path() + ", found " +
                                  e.dtype);
    }
    if (e.shape.size() != 1) {
      table_[index]["shape"].fail("a bias must be 1-D, found shape " + dims_to_string(e.shape));
    }
    return unpack_int32_le(e.bytes);
  }

 private:
  size_t entry_index(const JsonField& f) const {
    return static_cast<size_t>(f.as_int(0, static_cast<int64_t>(entries_.size()) - 1));
  }

  TensorEntry read_entry(const JsonField& f) const {
    TensorEntry e;
    f["name"].as_string();
    e.dtype = f["dtype"].as_string();
    int bits = 0;
    bool is_signed = false;
    if (!parse_dtype(e.dtype, bits, is_signed)) {
      f["dtype"].fail("unknown dtype '" + e.dtype + "' (expected int32, uint1..uint8 or int1..int8)");
    }
    e.shape = f["shape"].as_int_array(0, kMaxElements);
    try {
      e.count = checked_numel(e.shape, "shape");
    } catch (const std::invalid_argument& error) {
      f["shape"].fail(error.what());
    }
    const auto size = static_cast<int64_t>(data_.size());
    const int64_t offset = f["offset"].as_int(0, std::numeric_limits<int64_t>::max());
    const int64_t length = f["length"].as_int(0, std::numeric_limits<int64_t>::max());
    if (offset > size || length > size - offset) {  // written so that nothing can overflow
      f.fail("bytes [" + std::to_string(offset) + ", " + std::to_string(offset) + " + " +
             std::to_string(length) + ") lie outside the " + std::to_string(size) + "-byte data section");
    }
    const int64_t expected = bits == 32 ? 4 * e.count : packed_size(e.count, bits);
    if (length != expected) {
      f["length"].fail("shape " + dims_to_string(e.shape) + " of " + e.dtype + " needs " +
                       std::to_string(expected) + " bytes, found " + std::to_string(length));
    }
    e.bytes = data_.subspan(static_cast<size_t>(offset), static_cast<size_t>(length));
    return e;
  }

  JsonField table_;
  std::span<const uint8_t> data_;
  std::vector<TensorEntry> entries_;
};

OutputStage read_output_stage(const JsonField& f) {
  OutputStage stage;
  stage.output = read_quant(f["output_quant"]);
  const std::vector<int64_t> clamp = f["clamp"].as_int_array(kInt32Min, kInt32Max, 2);
  stage.clamp_min = static_cast<int32_t>(clamp[0]);
  stage.clamp_max = static_cast<int32_t>(clamp[1]);
  stage.real_multipliers = f["real_multipliers"].as_double_array();
  const JsonField multipliers = f["multipliers"];
  const size_t count = multipliers.array_size(static_cast<int64_t>(stage.real_multipliers.size()));
  for (size_t c = 0; c < count; ++c) {
    const JsonField pair = multipliers[c];  // [M0, shift]
    pair.array_size(2);
    stage.multipliers.push_back({static_cast<int32_t>(pair[0].as_int(0, kInt32Max)),
                                 static_cast<int>(pair[1].as_int(kMinMultiplierShift, kMaxMultiplierShift))});
  }
  return stage;
}

/// Fills the weight, bias and output stage shared by conv2d, linear and mul_add.
template <class Layer>
void read_layer_tensors(const JsonField& f, const TensorReader& tensors, Layer& layer) {
  layer.input_quant = read_quant(f["input_quant"]);
  const JsonField w = f["weight"];
  layer.weight.bits = static_cast<int>(w["bits"].as_int(1, 8));
  layer.weight.is_signed = w["signed"].as_bool();
  layer.weight.scales = w["scales"].as_double_array();
  const int64_t channels = static_cast<int64_t>(layer.weight.scales.size());
  layer.weight.zero_points.clear();
  for (const int64_t z : w["zero_points"].as_int_array(kInt32Min, kInt32Max, channels)) {
    layer.weight.zero_points.push_back(static_cast<int32_t>(z));
  }
  layer.weight.codes = tensors.codes(w, layer.weight.bits, layer.weight.is_signed, layer.weight.shape);
  const JsonField bias = f["bias"];
  if (!bias.is_null()) layer.bias = tensors.int32s(bias);
  layer.output_stage = read_output_stage(f["output_stage"]);
}

Window2d read_pool_window(const JsonField& f) {
  Window2d w;
  w.kernel = read_pair(f["kernel"], 1);
  w.stride = read_pair(f["stride"], 1);
  w.padding = read_pair(f["padding"], 0);
  return w;
}

Op read_op(const JsonField& f, const TensorReader& tensors) {
  const JsonField type_field = f["type"];
  const std::string type = type_field.as_string();
  if (type == Conv2d::kName) {
    Conv2d conv;
    conv.in_channels = f["in_channels"].as_int(1, kMaxElements);
    conv.out_channels = f["out_channels"].as_int(1, kMaxElements);
    conv.groups = f["groups"].as_int(1, kMaxElements);
    conv.window.kernel = read_pair(f["kernel"], 1);
    conv.window.stride = read_pair(f["stride"], 1);
    conv.window.padding = read_pair(f["padding"], 0);
    conv.window.dilation = read_pair(f["dilation"], 1);
    read_layer_tensors(f, tensors, conv);
    return conv;
  }
  if (type == Linear::kName) {
    Linear linear;
    linear.in_features = f["in_features"].as_int(1, kMaxElements);
    linear.out_features = f["out_features"].as_int(1, kMaxElements);
    read_layer_tensors(f, tensors, linear);
    return linear;
  }
  if (type == MulAdd::kName) {
    MulAdd mul_add;
    mul_add.channels = f["channels"].as_int(1, kMaxElements);
    read_layer_tensors(f, tensors, mul_add);
    return mul_add;
  }
  if (type == MaxPool2d::kName) return MaxPool2d{read_pool_window(f)};
  if (type == AvgPool2d::kName) return AvgPool2d{read_pool_window(f)};
  if (type == ReLU::kName) return ReLU{};
  if (type == Flatten::kName) return Flatten{};
  type_field.fail("unknown op type '" + type +
                  "' (known: conv2d, linear, mul_add, max_pool2d, avg_pool2d, relu, flatten)");
}

}  // namespace

EncodedModel encode_model(const Model& model) {
  plan_model(model);
  EncodedModel out;
  TensorWriter tensors(out);
  json& h = out.header;
  h["input"] = {{"shape", model.input.shape},
                {"quant", quant_json(model.input.quant)},
                {"mean", model.input.mean},
                {"std", model.input.stddev}};
  h["ops"] = json::array();
  for (size_t i = 0; i < model.ops.size(); ++i) {
    h["ops"].push_back(op_json(model.ops[i], "ops/" + std::to_string(i), tensors));
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
    model.ops.push_back(read_op(ops[i], tensors));
  model.output.quant = read_quant(root["output"]["quant"]);
  model.metadata = root["metadata"].value();
  plan_model(model);
  return model;
}

}  // namespace qg::runtime
