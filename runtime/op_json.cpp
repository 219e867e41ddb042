#include "runtime/op_json.h"

#include <limits>

#include "runtime/bit_packing.h"

namespace qg::runtime {

namespace {

using nlohmann::json;

constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

json pair_json(const std::array<int64_t, 2>& pair) {
  return json::array({pair[0], pair[1]});
}

std::array<int64_t, 2> read_pair(const JsonField& f, int64_t min) {
  const std::vector<int64_t> v = f.as_int_array(min, kMaxWindowSize, 2);
  return {v[0], v[1]};
}

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

}  // namespace

json quant_json(const QuantParams& q) {
  return {{"scale", q.scale}, {"zero_point", q.zero_point}, {"bits", q.bits}, {"signed", q.is_signed}};
}

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

json window_json(const Window2d& w, bool with_dilation) {
  json j = {
      {"kernel", pair_json(w.kernel)}, {"stride", pair_json(w.stride)}, {"padding", pair_json(w.padding)}};
  if (with_dilation) j["dilation"] = pair_json(w.dilation);
  return j;
}

Window2d read_window(const JsonField& f, bool with_dilation) {
  Window2d w;
  w.kernel = read_pair(f["kernel"], 1);
  w.stride = read_pair(f["stride"], 1);
  w.padding = read_pair(f["padding"], 0);
  if (with_dilation) w.dilation = read_pair(f["dilation"], 1);
  return w;
}

// ---- TensorWriter ---------------------------------------------------------------------------------

TensorWriter::TensorWriter(json& header, std::vector<uint8_t>& data)
    : table_(header["tensors"]), data_(data) {
  table_ = json::array();
}

int64_t TensorWriter::add_codes(const std::string& name, const QuantizedWeights& w) {
  const size_t offset = data_.size();
  pack_codes(w.codes, w.bits, w.is_signed, data_);
  return add_entry(name, (w.is_signed ? "int" : "uint") + std::to_string(w.bits), w.shape, offset);
}

int64_t TensorWriter::add_int32(const std::string& name, const std::vector<int32_t>& values) {
  const size_t offset = data_.size();
  pack_int32_le(values, data_);
  return add_entry(name, "int32", {static_cast<int64_t>(values.size())}, offset);
}

int64_t TensorWriter::add_entry(const std::string& name, const std::string& dtype, const Dims& shape,
                                size_t offset) {
  table_.push_back({{"name", name},
                    {"dtype", dtype},
                    {"shape", shape},
                    {"offset", offset},
                    {"length", data_.size() - offset}});
  return static_cast<int64_t>(table_.size()) - 1;
}

// ---- TensorReader ---------------------------------------------------------------------------------

TensorReader::TensorReader(const JsonField& table, std::span<const uint8_t> data)
    : table_(table), data_(data) {
  const size_t count = table.array_size();
  for (size_t i = 0; i < count; ++i)
    entries_.push_back(read_entry(table[i]));
}

std::vector<int16_t> TensorReader::codes(const JsonField& f, int bits, bool is_signed, Dims& shape) const {
  const JsonField index_field = f["tensor"];
  const size_t index = entry_index(index_field);
  const Entry& e = entries_[index];
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

std::vector<int32_t> TensorReader::int32s(const JsonField& f) const {
  const size_t index = entry_index(f["tensor"]);
  const Entry& e = entries_[index];
  if (e.dtype != "int32") {
    table_[index]["dtype"].fail("expected int32 for the bias referenced from " + f.path() + ", found " +
                                e.dtype);
  }
  if (e.shape.size() != 1) {
    table_[index]["shape"].fail("a bias must be 1-D, found shape " + dims_to_string(e.shape));
  }
  return unpack_int32_le(e.bytes);
}

size_t TensorReader::entry_index(const JsonField& f) const {
  return static_cast<size_t>(f.as_int(0, static_cast<int64_t>(entries_.size()) - 1));
}

TensorReader::Entry TensorReader::read_entry(const JsonField& f) const {
  Entry e;
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

// ---- output stage ---------------------------------------------------------------------------------

json output_stage_json(const OutputStage& stage) {
  json multipliers = json::array();
  for (const QuantizedMultiplier& m : stage.multipliers)
    multipliers.push_back({m.multiplier, m.shift});
  return {{"output_quant", quant_json(stage.output)},
          {"clamp", {stage.clamp_min, stage.clamp_max}},
          {"real_multipliers", stage.real_multipliers},
          {"multipliers", multipliers}};
}

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

}  // namespace qg::runtime
