// The pieces of the model file's header JSON that several ops share (docs/runtime.md, "Header JSON"): a
// quantization Q, a [height, width] pair, a window, and the weight, bias and output stage of a conv2d,
// linear or mul_add, whose tensors go to the data section through TensorWriter and come back through
// TensorReader. Each op writes and reads its own JSON with these (runtime/ops/<op>.cpp: encode, decode).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/json_field.h"
#include "runtime/output_stage.h"
#include "runtime/quant_params.h"
#include "runtime/quantized_weights.h"
#include "runtime/window2d.h"

namespace qg::runtime {

/// Q = {"scale": S, "zero_point": Z, "bits": b, "signed": s}.
nlohmann::json quant_json(const QuantParams& q);
/// Q, validated (QuantParams::validate); errors name the field's path.
QuantParams read_quant(const JsonField& f);

/// {"kernel": [kh, kw], "stride": [..], "padding": [..]} and, `with_dilation`, "dilation".
nlohmann::json window_json(const Window2d& w, bool with_dilation);
/// The inverse: kernel, stride and dilation in [1, 2^30], padding in [0, 2^30]; without dilation it stays
/// [1, 1].
Window2d read_window(const JsonField& f, bool with_dilation);

/// Appends tensors to the data section of an encoded model and describes them in the header's "tensors"
/// table ({"name", "dtype", "shape", "offset", "length"}), back to back in the order they are added.
class TensorWriter {
 public:
  /// `header` receives the "tensors" table, `data` the bytes; both outlive the writer.
  TensorWriter(nlohmann::json& header, std::vector<uint8_t>& data);
  /// Weight codes, packed at the weights' bit width (dtype "uintB" or "intB"). Returns the tensor's index.
  int64_t add_codes(const std::string& name, const QuantizedWeights& w);
  /// int32 values, little-endian (dtype "int32"). Returns the tensor's index.
  int64_t add_int32(const std::string& name, const std::vector<int32_t>& values);

 private:
  int64_t add_entry(const std::string& name, const std::string& dtype, const Dims& shape, size_t offset);
  nlohmann::json& table_;
  std::vector<uint8_t>& data_;
};

/// The "tensors" table of a header, each entry checked against the data section (bounds, length, dtype)
/// when the reader is made. Throws JsonFieldError naming the entry.
class TensorReader {
 public:
  TensorReader(const JsonField& table, std::span<const uint8_t> data);
  /// The weight codes that the weight field `f` ({"tensor", "bits", "signed", ...}) refers to, checked to
  /// be `bits`-bit codes of that signedness (they may be stored wider); sets `shape` to the tensor's.
  std::vector<int16_t> codes(const JsonField& f, int bits, bool is_signed, Dims& shape) const;
  /// The int32 values (a bias, 1-D) that field `f` ({"tensor"}) refers to.
  std::vector<int32_t> int32s(const JsonField& f) const;

 private:
  struct Entry {
    std::string dtype;
    Dims shape;
    int64_t count = 0;  // elements
    std::span<const uint8_t> bytes;
  };
  size_t entry_index(const JsonField& f) const;
  Entry read_entry(const JsonField& f) const;

  JsonField table_;
  std::span<const uint8_t> data_;
  std::vector<Entry> entries_;
};

nlohmann::json output_stage_json(const OutputStage& stage);
OutputStage read_output_stage(const JsonField& f);

/// The fields a conv2d, linear and mul_add share: "input_quant", "weight" (its codes as tensor
/// "<prefix>/weight"), "bias" (null, or tensor "<prefix>/bias") and "output_stage".
template <class Layer>
void write_layer_tensors(const Layer& layer, const std::string& prefix, TensorWriter& tensors,
                         nlohmann::json& op) {
  op["input_quant"] = quant_json(layer.input_quant);
  op["weight"] = {{"tensor", tensors.add_codes(prefix + "/weight", layer.weight)},
                  {"bits", layer.weight.bits},
                  {"signed", layer.weight.is_signed},
                  {"scales", layer.weight.scales},
                  {"zero_points", layer.weight.zero_points}};
  op["bias"] = layer.bias.empty()
                   ? nlohmann::json(nullptr)
                   : nlohmann::json{{"tensor", tensors.add_int32(prefix + "/bias", layer.bias)}};
  op["output_stage"] = output_stage_json(layer.output_stage);
}

/// The inverse of write_layer_tensors.
template <class Layer>
void read_layer_tensors(const JsonField& f, const TensorReader& tensors, Layer& layer) {
  layer.input_quant = read_quant(f["input_quant"]);
  const JsonField w = f["weight"];
  layer.weight.bits = static_cast<int>(w["bits"].as_int(1, 8));
  layer.weight.is_signed = w["signed"].as_bool();
  layer.weight.scales = w["scales"].as_double_array();
  const auto channels = static_cast<int64_t>(layer.weight.scales.size());
  layer.weight.zero_points.clear();
  constexpr int64_t kLow = std::numeric_limits<int32_t>::min(), kHigh = std::numeric_limits<int32_t>::max();
  for (const int64_t z : w["zero_points"].as_int_array(kLow, kHigh, channels))
    layer.weight.zero_points.push_back(static_cast<int32_t>(z));
  layer.weight.codes = tensors.codes(w, layer.weight.bits, layer.weight.is_signed, layer.weight.shape);
  const JsonField bias = f["bias"];
  if (!bias.is_null()) layer.bias = tensors.int32s(bias);
  layer.output_stage = read_output_stage(f["output_stage"]);
}

}  // namespace qg::runtime
