#include "onnx_io/export_integer.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <stdexcept>
#include <type_traits>

#include "onnx_io/graph_builder.h"
#include "onnx_io/model_proto_file.h"
#include "onnx_io/onnx_error.h"

namespace qg::onnx_io {
namespace {

using runtime::Activation;
using runtime::QuantParams;

constexpr int32_t kUint8 = onnx::TensorProto::UINT8;
constexpr int32_t kInt8 = onnx::TensorProto::INT8;
constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

/// The ONNX element type that carries codes of `q`: uint8 for unsigned codes, int8 for signed ones.
int32_t code_type(const QuantParams& q) {
  return q.is_signed ? kInt8 : kUint8;
}
int32_t type_min(int32_t type) {
  return type == kInt8 ? -128 : 0;
}
int32_t type_max(int32_t type) {
  return type == kInt8 ? 127 : 255;
}

/// A conv-like layer (conv2d, linear, mul_add) as QLinearConv sees it.
struct ConvLike {
  const runtime::QuantizedWeights* weight = nullptr;
  std::vector<int64_t> weight_dims;  ///< [O, I/group, kh, kw]
  const std::vector<int32_t>* bias = nullptr;
  const runtime::OutputStage* stage = nullptr;
  QuantParams input;
  int64_t group = 1;
  runtime::Window2d window;
};

/// Weight codes re-expressed with one zero point in the 8-bit type `type`: (q - Z_c) + zero_point.
struct CommonZeroPoint {
  bool fits = false;
  std::vector<int32_t> codes;
  int32_t zero_point = 0;
  bool rewritten = false;  ///< codes differ from the stored ones
};

/// Only q - Z_c enters the accumulator (runtime/ops/conv2d.h), so any common zero point Z' with every
/// (q - Z_c) + Z' inside `type` gives the same sums. Prefers the weights' own zero point (codes unchanged, or
/// shifted by 128 between uint8 and int8), else the one nearest 0. fits = false when the offsets span more
/// than the type's 256 codes.
CommonZeroPoint common_zero_point(const runtime::QuantizedWeights& w, int32_t type) {
  const int64_t row = w.row_size();
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  for (size_t i = 0; i < w.codes.size(); ++i) {
    const int32_t d = w.codes[i] - w.zero_point(static_cast<int64_t>(i) / row);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  if (w.codes.empty()) lo = hi = 0;
  const int32_t low = std::max(type_min(type), type_min(type) - lo);
  const int32_t high = std::min(type_max(type), type_max(type) - hi);
  CommonZeroPoint out;
  if (low > high) return out;
  const bool shared = std::all_of(w.zero_points.begin(), w.zero_points.end(),
                                  [&](int32_t z) { return z == w.zero_points.front(); });
  const int32_t retype = (type == kUint8 && w.is_signed) ? 128 : (type == kInt8 && !w.is_signed ? -128 : 0);
  const int32_t natural = w.zero_points.front() + retype;
  out.fits = true;
  out.zero_point = shared && natural >= low && natural <= high ? natural : std::clamp(0, low, high);
  out.rewritten = !shared || out.zero_point != natural;
  out.codes.resize(w.codes.size());
  for (size_t i = 0; i < w.codes.size(); ++i)
    out.codes[i] = w.codes[i] - w.zero_point(static_cast<int64_t>(i) / row) + out.zero_point;
  return out;
}

std::vector<Attribute> window_attributes(const runtime::Window2d& w, bool dilations) {
  std::vector<Attribute> a{
      Attribute::of("kernel_shape", std::vector<int64_t>{w.kernel[0], w.kernel[1]}),
      Attribute::of("strides", std::vector<int64_t>{w.stride[0], w.stride[1]}),
      Attribute::of("pads", std::vector<int64_t>{w.padding[0], w.padding[1], w.padding[0], w.padding[1]})};
  if (dilations) a.push_back(Attribute::of("dilations", std::vector<int64_t>{w.dilation[0], w.dilation[1]}));
  return a;
}

class IntegerExporter {
 public:
  IntegerExporter(const runtime::Model& model, const runtime::ModelPlan& plan, onnx::GraphProto& graph)
      : model_(model), plan_(plan), g_(graph) {}

  IntegerExport run() {
    names_.resize(model_.ops.size() + 1);
    names_[0] = quantize_input();
    for (size_t i = 0; i < model_.ops.size(); ++i) {
      current_ = ExportedOp{i, runtime::op_name(model_.ops[i]), {}, ""};
      record_ = &current_.onnx;
      base_ = "op" + std::to_string(i) + "_" + current_.op;
      names_[i + 1] = std::visit([&](const auto& op) { return emit(op, i); }, model_.ops[i].op());
      result_.ops.push_back(current_);
    }
    write_outputs();
    result_.nodes = g_.node_size();
    return result_;
  }

 private:
  // ---- small helpers, each emitting one node and recording its op type ----

  std::string node(const std::string& op_type, const std::vector<std::string>& inputs, const std::string& out,
                   const std::vector<Attribute>& attributes = {}) {
    record_->push_back(op_type);
    return builder_.add_node1(op_type, inputs, base_ + "/" + out, base_ + "/" + op_type, attributes);
  }

  std::string scale(float s) { return builder_.add_scalar_float(base_ + "/scale", s); }
  std::string zero(int32_t z, int32_t type) {
    return builder_.add_scalar_code(base_ + "/zero_point", z, type);
  }

  std::string dequantize(const std::string& x, double s, int32_t z, int32_t type) {
    return node("DequantizeLinear", {x, scale(static_cast<float>(s)), zero(z, type)}, "real");
  }
  std::string quantize(const std::string& x, double s, int32_t z, int32_t type) {
    return node("QuantizeLinear", {x, scale(static_cast<float>(s)), zero(z, type)}, "codes");
  }

  /// Clip on codes to [lo, hi] when that is narrower than the type's saturation range.
  std::string clip_if_narrower(const std::string& x, int32_t lo, int32_t hi, int32_t type) {
    if (lo <= type_min(type) && hi >= type_max(type)) return x;
    return clip(x, lo, hi, type);
  }
  std::string clip(const std::string& x, int32_t lo, int32_t hi, int32_t type) {
    return node("Clip",
                {x, builder_.add_scalar_code(base_ + "/min", lo, type),
                 builder_.add_scalar_code(base_ + "/max", hi, type)},
                "clipped");
  }

  /// Codes of type `from` with zero point `from_zero` -> the same values as codes of type `to` with zero point
  /// `to_zero` (they differ by a constant): DequantizeLinear and QuantizeLinear with scale 1, exact in float.
  std::string retype(const std::string& x, int32_t from, int32_t from_zero, int32_t to, int32_t to_zero) {
    const std::string real = dequantize(x, 1.0, from_zero, from);
    return quantize(real, 1.0, to_zero, to);
  }

  const Activation& activation(int64_t value) const { return plan_.activations[static_cast<size_t>(value)]; }
  const std::string& value_name(int64_t value) const { return names_[static_cast<size_t>(value)]; }
  std::string single_input(size_t i) const { return value_name(plan_.inputs[i].at(0)); }

  // ---- the input and the outputs ----

  std::string quantize_input() {
    record_ = &result_.input;
    base_ = "input";
    const QuantParams& q = model_.input.quant;
    g_.set_doc_string(doc_string());
    builder_.add_input("input", kFloat, model_.input.shape);
    const std::string codes = quantize("input", q.scale, q.zero_point, code_type(q));
    return clip_if_narrower(codes, q.qmin(), q.qmax(), code_type(q));
  }

  void write_outputs() {
    base_ = "output";
    const Activation& out = plan_.output();
    const std::string last = value_name(static_cast<int64_t>(model_.ops.size()));
    const std::string codes = builder_.add_node1("Identity", {last}, "codes", "output/Identity");
    result_.output.push_back("Identity");
    const QuantParams& q = model_.output.quant;
    const std::string logits = builder_.add_node1(
        "DequantizeLinear", {codes, scale(static_cast<float>(q.scale)), zero(q.zero_point, code_type(q))},
        "logits", "output/DequantizeLinear");
    result_.output.push_back("DequantizeLinear");
    // Tensor names inside the graph all start with "input/", "op<i>_" or "output/": these two are free.
    assert(codes == "codes" && logits == "logits");
    builder_.add_output("logits", kFloat, out.shape);
    builder_.add_output("codes", code_type(out.quant), out.shape);
  }

  std::string doc_string() const {
    const std::string mean = nlohmann::json(model_.input.mean).dump();
    const std::string stddev = nlohmann::json(model_.input.stddev).dump();
    return "quantgrad integer model (QOperator form). Input \"input\": float32 [N, C, H, W], the normalised "
           "values x = (p / 255 - mean[c]) / std[c] of pixels p in 0..255, mean " +
           mean + ", std " + stddev +
           ". Outputs: \"codes\", the integer model's output codes, and \"logits\" = "
           "DequantizeLinear(codes).";
  }

  // ---- conv-like layers ----

  /// QLinearConv when the weights fit one zero point, else the QDQ form. Returns the output codes, clamped
  /// to the stage's [clamp_min, clamp_max].
  std::string conv_like(const std::string& x, const ConvLike& c) {
    const int32_t x_type = code_type(c.input);
    const QuantParams& y = c.stage->output;
    const CommonZeroPoint w = common_zero_point(*c.weight, x_type);
    if (!w.fits) return conv_qdq(x, c);
    if (w.rewritten)
      current_.note =
          "weight codes stored as q - Z_c + " + std::to_string(w.zero_point) + " (one zero point)";
    std::vector<float> w_scales;
    for (double s : c.weight->scales)
      w_scales.push_back(static_cast<float>(s));
    const bool per_channel = c.weight->per_channel();
    const int64_t out_channels = c.weight_dims[0];
    // ONNX Runtime's QLinearConv writes y in x's type: codes of the other signedness are made with the zero
    // point shifted by 128 (the same clamp, shifted) and re-typed after.
    const int32_t y_type = code_type(y);
    const int32_t shift = y_type == x_type ? 0 : (x_type == kUint8 ? 128 : -128);
    std::vector<std::string> inputs{
        x,
        scale(static_cast<float>(c.input.scale)),
        zero(c.input.zero_point, x_type),
        builder_.add_codes(base_ + "/weight", c.weight_dims, w.codes, x_type),
        per_channel ? builder_.add_float(base_ + "/weight_scale", {out_channels}, w_scales)
                    : scale(w_scales[0]),
        per_channel ? builder_.add_codes(
                          base_ + "/weight_zero_point", {out_channels},
                          std::vector<int32_t>(static_cast<size_t>(out_channels), w.zero_point), x_type)
                    : zero(w.zero_point, x_type),
        scale(static_cast<float>(y.scale)),
        zero(y.zero_point + shift, x_type)};
    if (!c.bias->empty()) inputs.push_back(builder_.add_int32(base_ + "/bias", {out_channels}, *c.bias));
    std::vector<Attribute> attributes = window_attributes(c.window, true);
    attributes.push_back(Attribute::of("group", c.group));
    std::string codes = node("QLinearConv", inputs, "codes", attributes);
    if (shift != 0) codes = retype(codes, x_type, y.zero_point + shift, y_type, y.zero_point);
    return clip_if_narrower(codes, c.stage->clamp_min, c.stage->clamp_max, y_type);
  }

  /// DequantizeLinear (input and per-axis weights) -> Conv in float with the bias S1 S2[c] b[c] ->
  /// QuantizeLinear: for weights whose zero points cannot be made one.
  std::string conv_qdq(const std::string& x, const ConvLike& c) {
    ++result_.qdq_layers;
    current_.note = "QDQ form: the weight zero points are too far apart to share one";
    const runtime::QuantizedWeights& wq = *c.weight;
    const int32_t w_type = wq.is_signed ? kInt8 : kUint8;
    const int64_t out_channels = c.weight_dims[0];
    const bool per_channel = wq.per_channel();
    std::vector<float> w_scales;
    for (double s : wq.scales)
      w_scales.push_back(static_cast<float>(s));
    const std::vector<int32_t> codes(wq.codes.begin(), wq.codes.end());
    const std::string weights = builder_.add_codes(base_ + "/weight", c.weight_dims, codes, w_type);
    const std::string real_x = dequantize(x, c.input.scale, c.input.zero_point, code_type(c.input));
    const std::string real_w =
        per_channel
            ? node("DequantizeLinear",
                   {weights, builder_.add_float(base_ + "/weight_scale", {out_channels}, w_scales),
                    builder_.add_codes(base_ + "/weight_zero_point", {out_channels}, wq.zero_points, w_type)},
                   "weight_real", {Attribute::of("axis", int64_t{0})})
            : node("DequantizeLinear", {weights, scale(w_scales[0]), zero(wq.zero_points[0], w_type)},
                   "weight_real");
    std::vector<std::string> inputs{real_x, real_w};
    if (!c.bias->empty()) {
      std::vector<float> bias(c.bias->size());
      for (size_t k = 0; k < bias.size(); ++k)
        bias[k] = static_cast<float>((*c.bias)[k] * c.input.scale * wq.scales[per_channel ? k : 0]);
      inputs.push_back(builder_.add_float(base_ + "/bias", {out_channels}, bias));
    }
    std::vector<Attribute> attributes = window_attributes(c.window, true);
    attributes.push_back(Attribute::of("group", c.group));
    const std::string real_y = node("Conv", inputs, "real", attributes);
    const QuantParams& y = c.stage->output;
    const std::string y_codes = quantize(real_y, y.scale, y.zero_point, code_type(y));
    return clip_if_narrower(y_codes, c.stage->clamp_min, c.stage->clamp_max, code_type(y));
  }

  // ---- one emit() per op kind ----

  std::string emit(const runtime::Conv2d& op, size_t i) {
    return conv_like(single_input(i), {&op.weight, op.weight.shape, &op.bias, &op.output_stage,
                                       op.input_quant, op.groups, op.window});
  }

  std::string emit(const runtime::Linear& op, size_t i) {
    const std::vector<int64_t> shape{0, op.in_features, 1, 1};  // 0: keep N
    const std::string x4 =
        node("Reshape", {single_input(i), builder_.add_int64(base_ + "/shape", {4}, shape)}, "as_nchw");
    const std::string y4 = conv_like(x4, {&op.weight,
                                          {op.out_features, op.in_features, 1, 1},
                                          &op.bias,
                                          &op.output_stage,
                                          op.input_quant,
                                          1,
                                          runtime::Window2d{}});
    return node("Flatten", {y4}, "flat", {Attribute::of("axis", int64_t{1})});
  }

  std::string emit(const runtime::MulAdd& op, size_t i) {
    return conv_like(single_input(i), {&op.weight,
                                       {op.channels, 1, 1, 1},
                                       &op.bias,
                                       &op.output_stage,
                                       op.input_quant,
                                       op.channels,
                                       runtime::Window2d{}});
  }

  std::string emit(const runtime::MaxPool2d& op, size_t i) {
    return node("MaxPool", {single_input(i)}, "codes", window_attributes(op.window, false));
  }

  /// Averaging q - Z in float (scale 1) keeps the sums exact; only the final rounding differs: ONNX's
  /// QuantizeLinear rounds ties to even, quantgrad away from zero.
  std::string emit(const runtime::AvgPool2d& op, size_t i) {
    const QuantParams& q = activation(plan_.inputs[i][0]).quant;
    const std::string real = dequantize(single_input(i), 1.0, q.zero_point, code_type(q));
    std::vector<Attribute> attributes = window_attributes(op.window, false);
    attributes.push_back(Attribute::of("count_include_pad", int64_t{1}));
    const std::string mean = node("AveragePool", {real}, "mean", attributes);
    // quantgrad rounds the mean half away from zero (divide_round_half_away), QuantizeLinear half to even. The
    // mean is sum / k for an integer sum and k = the kernel area, so it lies on a tie (n + 1/2) or at least
    // 1/(2k) from one: a nudge of sign(mean) / (4k) moves the ties away from zero and nothing else across a
    // rounding boundary (2x2 windows put a quarter of all means on a tie).
    const float nudge = 1.0f / static_cast<float>(4 * op.window.kernel[0] * op.window.kernel[1]);
    const std::string away = node(
        "Mul", {node("Sign", {mean}, "sign"), builder_.add_scalar_float(base_ + "/nudge", nudge)}, "nudge");
    return quantize(node("Add", {mean, away}, "mean_nudged"), 1.0, q.zero_point, code_type(q));
  }

  std::string emit(const runtime::ReLU&, size_t i) {
    const QuantParams& q = activation(plan_.inputs[i][0]).quant;
    return clip(single_input(i), q.zero_point, q.qmax(), code_type(q));
  }

  std::string emit(const runtime::Clip& op, size_t i) {
    const QuantParams& q = activation(plan_.inputs[i][0]).quant;
    return clip(single_input(i), op.clamp_min, op.clamp_max, code_type(q));
  }

  std::string emit(const runtime::Flatten&, size_t i) {
    return node("Flatten", {single_input(i)}, "flat", {Attribute::of("axis", int64_t{1})});
  }

  std::string emit(const runtime::Add& op, size_t i) {
    std::vector<std::string> reals;
    for (size_t k = 0; k < 2; ++k) {
      const QuantParams& q = op.input_quant[k];
      reals.push_back(dequantize(value_name(plan_.inputs[i][k]), q.scale, q.zero_point, code_type(q)));
    }
    const std::string sum = node("Add", reals, "sum");
    const QuantParams& out = op.output_quant;
    const std::string codes = quantize(sum, out.scale, out.zero_point, code_type(out));
    return clip_if_narrower(codes, op.params.clamp_min, op.params.clamp_max, code_type(out));
  }

  std::string emit(const runtime::Concat& op, size_t i) {
    const Attribute axis = Attribute::of("axis", int64_t{1});
    const bool identity = std::all_of(op.input_quant.begin(), op.input_quant.end(),
                                      [&](const QuantParams& q) { return q == op.output_quant; });
    std::vector<std::string> inputs;
    for (size_t k = 0; k < op.input_quant.size(); ++k)
      inputs.push_back(value_name(plan_.inputs[i][k]));
    if (identity) return node("Concat", inputs, "codes", {axis});
    current_.note = "inputs on other grids: requantized in float";
    for (size_t k = 0; k < inputs.size(); ++k) {
      const QuantParams& q = op.input_quant[k];
      inputs[k] = dequantize(inputs[k], q.scale, q.zero_point, code_type(q));
    }
    const std::string joined = node("Concat", inputs, "real", {axis});
    const QuantParams& out = op.output_quant;
    const std::string codes = quantize(joined, out.scale, out.zero_point, code_type(out));
    return clip_if_narrower(codes, out.qmin(), out.qmax(), code_type(out));
  }

  const runtime::Model& model_;
  const runtime::ModelPlan& plan_;
  onnx::GraphProto& g_;
  GraphBuilder builder_{g_};
  std::vector<std::string> names_;  ///< per quantgrad value: the ONNX tensor holding its codes
  IntegerExport result_;
  ExportedOp current_;
  std::string base_;
  std::vector<std::string>* record_ =
      nullptr;  ///< where node() records op types: the input's, then each op's
};

std::string metadata_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

void add_model_metadata(onnx::ModelProto& proto, const runtime::Model& model, const std::string& source) {
  const nlohmann::json ours = {{"quantgrad_model", "integer"},
                               {"normalization_mean", model.input.mean},
                               {"normalization_std", model.input.stddev},
                               {"input_quantization", runtime::quant_to_string(model.input.quant)},
                               {"output_quantization", runtime::quant_to_string(model.output.quant)}};
  for (const auto& [key, value] : ours.items())
    add_metadata(proto, key, metadata_text(value));
  if (!source.empty()) add_metadata(proto, "source_file", source);
  for (const auto& [key, value] : model.metadata.items()) {
    if (!ours.contains(key) && key != "source_file") add_metadata(proto, key, metadata_text(value));
  }
}

}  // namespace

IntegerExport export_integer_model(const runtime::Model& model, const std::string& onnx_path,
                                   const IntegerExportOptions& options) {
  runtime::ModelPlan plan;
  try {
    plan = runtime::plan_model(model);
  } catch (const std::invalid_argument& e) {
    throw OnnxError(onnx_path + ": cannot export an invalid model: " + e.what());
  }
  onnx::ModelProto proto =
      make_model_proto(kExportOpset, model.metadata.value("config", std::string("quantgrad_model")));
  IntegerExporter exporter(model, plan, *proto.mutable_graph());
  const IntegerExport result = exporter.run();
  proto.set_doc_string(proto.graph().doc_string());
  add_model_metadata(proto, model, options.source);
  write_model_proto(onnx_path, proto);
  return result;
}

std::string export_summary_text(const IntegerExport& exported) {
  auto line = [](const std::string& label, const std::vector<std::string>& ops, const std::string& note) {
    std::string text = label;
    text.resize(std::max<size_t>(text.size(), 18), ' ');
    text += " -> ";
    for (size_t k = 0; k < ops.size(); ++k) {
      if (k) text += ", ";
      text += ops[k];
    }
    return text + (note.empty() ? "" : "  (" + note + ")") + "\n";
  };
  std::string text = line("input", exported.input, "");
  for (const ExportedOp& op : exported.ops)
    text += line("op " + std::to_string(op.index) + " " + op.op, op.onnx, op.note);
  text += line("output", exported.output, "graph outputs \"codes\" and \"logits\"");
  text += std::to_string(exported.nodes) + " ONNX nodes";
  if (exported.qdq_layers) text += ", " + std::to_string(exported.qdq_layers) + " layer(s) in the QDQ form";
  return text + "\n";
}

}  // namespace qg::onnx_io
