#include "runtime/explain.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <variant>

#include "runtime/requantize.h"
#include "runtime/run.h"

namespace qg::runtime {

namespace {

using Steps = std::vector<ExplainStep>;

// ---- parsing "L:C,Y,X" ---------------------------------------------------------------------------------

int64_t parse_number(const std::string& part, const std::string& text) {
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(part, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (part.empty() || used != part.size() || value < 0) {
    throw std::invalid_argument(
        "--explain " + text + ": \"" + part +
        "\" is not a non-negative integer (expected LAYER:C,Y,X, LAYER:J or LAYER:#FLAT)");
  }
  return value;
}

std::vector<int64_t> parse_numbers(const std::string& list, const std::string& text) {
  std::vector<int64_t> numbers;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    numbers.push_back(parse_number(list.substr(start, comma - start), text));
    if (comma == std::string::npos) return numbers;
    start = comma + 1;
  }
}

std::string op_label(size_t op, const ModelPlan& plan, const std::string& name) {
  return "op " + std::to_string(op) + " (" + name + ") output " +
         dims_to_string(plan.activations[op + 1].shape);
}

// The first 32 codes, space-separated, then how many there are.
std::string codes_text(const std::vector<int32_t>& codes) {
  std::string text;
  const size_t shown = std::min<size_t>(codes.size(), 32);
  for (size_t k = 0; k < shown; ++k) {
    if (k > 0) text += ' ';
    text += std::to_string(codes[k]);
  }
  if (shown < codes.size()) text += " ... (" + std::to_string(codes.size()) + " codes)";
  return text;
}

// ---- a layer's derivation (conv2d, linear, mul_add) -------------------------------------------------

// The products of one output element that lie inside the input: (q_x, q_w) pairs.
struct Products {
  std::vector<int32_t> x, w;
  int64_t padding = 0;  // products on padding: (Z_x - Z_x) q_w = 0
  std::string field;    // where the receptive field lies
};

// What a layer's output element needs besides its products.
struct LayerElement {
  const QuantParams& input;
  const QuantizedWeights& weight;
  const std::vector<int32_t>& bias;
  const OutputStage& stage;
  int64_t channel;
};

int32_t derive_requantization(int32_t acc, const OutputStage& stage, size_t m, RequantMode mode, Steps& s) {
  const QuantizedMultiplier fixed = stage.multipliers[m];
  s.push_back({"M = S_x*S_w/S_out (real)", stage.real_multipliers[m]});
  s.push_back({"M0 (int32, Q0.31) and shift: M ~= M0 * 2^(shift - 31)",
               std::to_string(fixed.multiplier) + ", shift " + std::to_string(fixed.shift)});
  if (mode == RequantMode::FloatReference) {
    const int32_t r = requantize_reference(acc, stage.real_multipliers[m]);
    s.push_back({"r = round(M * acc) in double, half to even (float reference)", r});
    return r;
  }
  s.push_back({"acc * M0 (int64, exact)", int64_t{acc} * fixed.multiplier});
  const int32_t r = multiply_by_quantized_multiplier(acc, fixed);
  s.push_back({"r = round(acc * M0 / 2^(31 - shift)), one rounding", r});
  // gemmlowp's (and TFLite's) MultiplyByQuantizedMultiplier: two roundings, for comparison.
  const int left = std::max(fixed.shift, 0), right = std::max(-fixed.shift, 0);
  const int64_t shifted = int64_t{acc} * (int64_t{1} << left);
  if (shifted < std::numeric_limits<int32_t>::min() || shifted > std::numeric_limits<int32_t>::max() ||
      right > 31) {
    s.push_back({"gemmlowp's two roundings", "not shown (acc * 2^left_shift leaves int32)"});
    return r;
  }
  const int32_t high = saturating_rounding_doubling_high_mul(static_cast<int32_t>(shifted), fixed.multiplier);
  const int32_t twice = rounding_divide_by_pot(high, right);
  s.push_back(
      {"  gemmlowp: SaturatingRoundingDoublingHighMul(acc * 2^" + std::to_string(left) + ", M0)", high});
  s.push_back({"  gemmlowp: RoundingDivideByPOT(that, " + std::to_string(right) + ")", twice});
  s.push_back({"  gemmlowp's two roundings vs the runtime's one",
               twice == r ? "the same" : "one apart (double rounding; the runtime rounds once)"});
  return r;
}

int32_t derive_clamp(int64_t value, const QuantParams& output, int32_t lo, int32_t hi, Steps& s) {
  const int32_t q = static_cast<int32_t>(std::clamp<int64_t>(value, lo, hi));
  std::string what = "q = clamp(that, " + std::to_string(lo) + ", " + std::to_string(hi) + ")";
  if (lo == output.zero_point) what += ", a ReLU (clamp_min = Z_out)";
  s.push_back({what, q});
  return q;
}

int32_t derive_layer(const Products& p, const LayerElement& e, RequantMode mode, Steps& s) {
  const int64_t n = static_cast<int64_t>(p.x.size());
  const int32_t zx = e.input.zero_point, zw = e.weight.zero_point(e.channel);
  int64_t sum_xw = 0, sum_x = 0, sum_w = 0, direct = 0;
  for (size_t k = 0; k < p.x.size(); ++k) {
    sum_xw += int64_t{p.x[k]} * p.w[k];
    sum_x += p.x[k];
    sum_w += p.w[k];
    direct += int64_t{p.x[k] - zx} * (p.w[k] - zw);
  }
  const int64_t offsets = sum_xw - zw * sum_x - zx * sum_w + n * zx * zw;
  assert(offsets == direct);  // gemmlowp's expansion is an identity
  (void)direct;
  s.push_back({"receptive field", p.field});
  s.push_back({"products inside the input (n); on padding, contributing 0",
               std::to_string(n) + "; " + std::to_string(p.padding)});
  s.push_back({"q_x (the input codes)", codes_text(p.x)});
  s.push_back({"q_w (the weight codes)", codes_text(p.w)});
  s.push_back({"Z_x, Z_w", std::to_string(zx) + ", " + std::to_string(zw)});
  s.push_back({"sum q_x*q_w", sum_xw});
  s.push_back({"sum q_x, sum q_w", std::to_string(sum_x) + ", " + std::to_string(sum_w)});
  s.push_back({"- Z_w * sum q_x", -zw * sum_x});
  s.push_back({"- Z_x * sum q_w", -zx * sum_w});
  s.push_back({"+ n * Z_x * Z_w", n * zx * zw});
  s.push_back({"= sum (q_x - Z_x)(q_w - Z_w)", offsets});
  const int32_t bias = e.bias.empty() ? 0 : e.bias[static_cast<size_t>(e.channel)];
  s.push_back({"bias (int32 at scale S_x*S_w, Z = 0)", bias});
  const int64_t acc = bias + offsets;  // within int32: the layer's accumulator bound guarantees it
  s.push_back({"acc = bias + sum", acc});
  const size_t m = e.stage.per_channel() ? static_cast<size_t>(e.channel) : 0;
  const int32_t r = derive_requantization(static_cast<int32_t>(acc), e.stage, m, mode, s);
  const QuantParams& out = e.stage.output;
  s.push_back({"r + Z_out", int64_t{r} + out.zero_point});
  const int32_t q = derive_clamp(int64_t{r} + out.zero_point, out, e.stage.clamp_min, e.stage.clamp_max, s);
  assert(q == e.stage.apply(static_cast<int32_t>(acc), e.channel, mode));
  const double real_acc =
      e.input.scale * e.weight.scales[e.weight.per_channel() ? e.channel : 0] * static_cast<double>(acc);
  s.push_back({"exact real output before rounding: S_x*S_w*acc", real_acc});
  s.push_back({"  as a code before rounding: Z_out + M*acc",
               out.zero_point + e.stage.real_multipliers[m] * static_cast<double>(acc)});
  return q;
}

// ---- element coordinates -----------------------------------------------------------------------------

struct Chw {
  int64_t c, y, x;
};

Chw chw_of(int64_t flat, const Dims& shape) {
  return {flat / (shape[1] * shape[2]), (flat / shape[2]) % shape[1], flat % shape[2]};
}

std::string range_text(int64_t first, int64_t count, int64_t step) {
  return std::to_string(first) + ".." + std::to_string(first + (count - 1) * step);
}

// ---- one derivation per op ----------------------------------------------------------------------------

// The values an op reads for the one sample, and their shapes and quantizations.
struct OpInputs {
  std::vector<IntTensor> values;
  std::vector<Activation> activations;
};

struct Derivation {
  const OpInputs& in;
  const Dims& out_shape;
  int64_t flat;
  RequantMode mode;
  Steps& steps;
};

int32_t derive(const Conv2d& op, const Derivation& d) {
  const Dims& in_shape = d.in.activations[0].shape;
  const std::vector<int32_t>& x = d.in.values[0].data;
  const Chw o = chw_of(d.flat, d.out_shape);
  const int64_t in_per_group = op.in_channels / op.groups;
  const int64_t first_in = (o.c / (op.out_channels / op.groups)) * in_per_group;
  const auto& [kh, kw] = op.window.kernel;
  const int64_t y0 = o.y * op.window.stride[0] - op.window.padding[0];
  const int64_t x0 = o.x * op.window.stride[1] - op.window.padding[1];
  Products p;
  p.field = "input channels " + range_text(first_in, in_per_group, 1) + ", rows " +
            range_text(y0, kh, op.window.dilation[0]) + ", cols " +
            range_text(x0, kw, op.window.dilation[1]) + ": K = " + std::to_string(in_per_group * kh * kw) +
            " products";
  for (int64_t i = 0; i < in_per_group; ++i) {
    for (int64_t t = 0; t < kh; ++t) {
      for (int64_t u = 0; u < kw; ++u) {
        const int64_t y = y0 + t * op.window.dilation[0], xx = x0 + u * op.window.dilation[1];
        if (y < 0 || y >= in_shape[1] || xx < 0 || xx >= in_shape[2]) {
          ++p.padding;
          continue;
        }
        p.x.push_back(x[static_cast<size_t>(((first_in + i) * in_shape[1] + y) * in_shape[2] + xx)]);
        p.w.push_back(op.weight.codes[static_cast<size_t>(((o.c * in_per_group + i) * kh + t) * kw + u)]);
      }
    }
  }
  return derive_layer(p, {op.input_quant, op.weight, op.bias, op.output_stage, o.c}, d.mode, d.steps);
}

int32_t derive(const Linear& op, const Derivation& d) {
  Products p;
  p.field = "all " + std::to_string(op.in_features) +
            " input features: K = " + std::to_string(op.in_features) + " products";
  p.x = d.in.values[0].data;
  const auto row = op.weight.codes.begin() + d.flat * op.in_features;
  p.w.assign(row, row + op.in_features);
  return derive_layer(p, {op.input_quant, op.weight, op.bias, op.output_stage, d.flat}, d.mode, d.steps);
}

int32_t derive(const MulAdd& op, const Derivation& d) {
  const Chw o = chw_of(d.flat, d.out_shape);
  Products p;
  p.field = "the same element of the input, times channel " + std::to_string(o.c) + "'s factor: K = 1";
  p.x = {d.in.values[0].data[static_cast<size_t>(d.flat)]};
  p.w = {op.weight.codes[static_cast<size_t>(o.c)]};
  return derive_layer(p, {op.input_quant, op.weight, op.bias, op.output_stage, o.c}, d.mode, d.steps);
}

// The window of a pool at output element `o`, clipped to the input (padding never takes part).
struct PoolWindow {
  std::vector<int32_t> codes;
  std::string field;
};

PoolWindow pool_window(const Window2d& w, const Chw& o, const Dims& in_shape, const std::vector<int32_t>& x) {
  const Window2d::Range rows = w.clipped(o.y, 0, in_shape[1]), cols = w.clipped(o.x, 1, in_shape[2]);
  PoolWindow window;
  window.field = "channel " + std::to_string(o.c) + ", rows " + std::to_string(rows.begin) + ".." +
                 std::to_string(rows.end - 1) + ", cols " + std::to_string(cols.begin) + ".." +
                 std::to_string(cols.end - 1);
  for (int64_t y = rows.begin; y < rows.end; ++y) {
    for (int64_t xx = cols.begin; xx < cols.end; ++xx)
      window.codes.push_back(x[static_cast<size_t>((o.c * in_shape[1] + y) * in_shape[2] + xx)]);
  }
  return window;
}

int32_t derive(const MaxPool2d& op, const Derivation& d) {
  const PoolWindow w =
      pool_window(op.window, chw_of(d.flat, d.out_shape), d.in.activations[0].shape, d.in.values[0].data);
  d.steps.push_back({"window (inside the input)", w.field});
  d.steps.push_back({"its codes", codes_text(w.codes)});
  const int32_t q = *std::max_element(w.codes.begin(), w.codes.end());
  d.steps.push_back({"q = the largest code (S(q - Z) is increasing)", q});
  return q;
}

int32_t derive(const AvgPool2d& op, const Derivation& d) {
  const PoolWindow w =
      pool_window(op.window, chw_of(d.flat, d.out_shape), d.in.activations[0].shape, d.in.values[0].data);
  const int32_t z = d.in.activations[0].quant.zero_point;
  int64_t sum = 0;
  for (const int32_t code : w.codes)
    sum += code - z;
  const int64_t divisor = op.window.kernel[0] * op.window.kernel[1];
  d.steps.push_back({"window (inside the input)", w.field});
  d.steps.push_back({"its codes", codes_text(w.codes)});
  d.steps.push_back({"sum (q - Z), Z = " + std::to_string(z), sum});
  d.steps.push_back({"divisor kh*kw (padding counts as real 0)", divisor});
  const int64_t rounded = divide_round_half_away(sum, divisor);
  d.steps.push_back({"round(sum / divisor), half away from zero", rounded});
  d.steps.push_back({"q = Z + that", z + rounded});
  return static_cast<int32_t>(z + rounded);
}

int32_t derive(const ReLU&, const Derivation& d) {
  const int32_t x = d.in.values[0].data[static_cast<size_t>(d.flat)];
  const int32_t z = d.in.activations[0].quant.zero_point;
  d.steps.push_back({"input code, Z", std::to_string(x) + ", " + std::to_string(z)});
  d.steps.push_back({"q = max(q_x, Z) (code Z is real 0)", std::max(x, z)});
  return std::max(x, z);
}

int32_t derive(const Clip& op, const Derivation& d) {
  const int32_t x = d.in.values[0].data[static_cast<size_t>(d.flat)];
  d.steps.push_back({"input code", x});
  return derive_clamp(x, d.in.activations[0].quant, op.clamp_min, op.clamp_max, d.steps);
}

int32_t derive(const Flatten&, const Derivation& d) {
  const int32_t x = d.in.values[0].data[static_cast<size_t>(d.flat)];
  d.steps.push_back({"input element " + element_coordinates({0, d.flat}, d.in.activations[0].shape) +
                         " (channel-major, like torch.flatten)",
                     x});
  return x;
}

void multiplier_steps(const std::string& name, double real, QuantizedMultiplier m, Steps& s) {
  s.push_back({name + " (real); M0, shift",
               std::to_string(real) + "; " + std::to_string(m.multiplier) + ", " + std::to_string(m.shift)});
}

int32_t derive(const Add& op, const Derivation& d) {
  const AddParams& p = op.params;
  const auto [m_a, m_b, m_out] = add_real_multipliers(op.input_quant[0], op.input_quant[1], op.output_quant);
  const std::array<double, 2> reals{m_a, m_b};
  const char* names[2] = {"a", "b"};
  int32_t scaled[2];
  double exact = 0.0;
  for (size_t k = 0; k < 2; ++k) {
    const int32_t code = d.in.values[k].data[static_cast<size_t>(d.flat)];
    const std::string n = names[k];
    const int32_t shifted = (code - p.input_zero_points[k]) * (int32_t{1} << p.left_shift);
    d.steps.push_back({n + " (input " + std::to_string(k) + "), Z_" + n,
                       std::to_string(code) + ", " + std::to_string(p.input_zero_points[k])});
    d.steps.push_back({"(" + n + " - Z_" + n + ") * 2^" + std::to_string(p.left_shift), shifted});
    multiplier_steps("M_" + n + " = S_" + n + " / (2 max(S_a, S_b))", reals[k], p.input_multipliers[k],
                     d.steps);
    scaled[k] = multiply_by_quantized_multiplier(shifted, p.input_multipliers[k]);
    d.steps.push_back({n + "' = round(that * M_" + n + ")", scaled[k]});
    exact += op.input_quant[k].scale * (code - p.input_zero_points[k]);
  }
  const int32_t raw_sum = scaled[0] + scaled[1];
  d.steps.push_back({"a' + b'", raw_sum});
  multiplier_steps("M_out = 2 max(S_a, S_b) / (2^20 S_out)", m_out, p.output_multiplier, d.steps);
  const int32_t r = multiply_by_quantized_multiplier(raw_sum, p.output_multiplier);
  d.steps.push_back({"r = round((a' + b') * M_out), one rounding", r});
  d.steps.push_back({"r + Z_out", int64_t{r} + p.output_zero_point});
  const int32_t q =
      derive_clamp(int64_t{r} + p.output_zero_point, op.output_quant, p.clamp_min, p.clamp_max, d.steps);
  assert(q == add_code(d.in.values[0].data[static_cast<size_t>(d.flat)],
                       d.in.values[1].data[static_cast<size_t>(d.flat)], p));
  d.steps.push_back({"exact real sum before rounding: S_a(a - Z_a) + S_b(b - Z_b)", exact});
  d.steps.push_back({"  as a code before rounding: Z_out + sum/S_out",
                     op.output_quant.zero_point + exact / op.output_quant.scale});
  return q;
}

int32_t derive(const Concat& op, const Derivation& d) {
  int64_t flat = d.flat;
  size_t k = 0;
  while (flat >= d.in.values[k].numel()) {
    flat -= d.in.values[k].numel();
    ++k;
  }
  const int32_t code = d.in.values[k].data[static_cast<size_t>(flat)];
  const ConcatInputParams& p = op.params[k];
  d.steps.push_back({"from input " + std::to_string(k) + ", element " +
                         element_coordinates({0, flat}, d.in.activations[k].shape),
                     code});
  if (p.identity) {
    d.steps.push_back({"q = the same code (input and output quantized alike)", code});
    return code;
  }
  d.steps.push_back({"q - Z_k", code - p.input_zero_point});
  multiplier_steps("M_k = S_k / S_out", op.input_quant[k].scale / op.output_quant.scale, p.multiplier,
                   d.steps);
  const int32_t r = multiply_by_quantized_multiplier(code - p.input_zero_point, p.multiplier);
  d.steps.push_back({"r = round((q - Z_k) * M_k), one rounding", r});
  d.steps.push_back({"r + Z_out", int64_t{r} + p.output_zero_point});
  const int32_t q =
      derive_clamp(int64_t{r} + p.output_zero_point, op.output_quant, p.output_min, p.output_max, d.steps);
  assert(q == concat_code(code, p));
  return q;
}

// ---- text ---------------------------------------------------------------------------------------------

std::string value_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", value.get<double>());
    return text;
  }
  return value.dump();
}

}  // namespace

ElementIndex parse_element_index(const std::string& text, const Model& model) {
  const ModelPlan plan = plan_model(model);
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("--explain " + text +
                                ": expected LAYER:C,Y,X, LAYER:J or LAYER:#FLAT (a colon after the layer)");
  }
  const int64_t ops = static_cast<int64_t>(plan.activations.size()) - 1;
  const int64_t op = parse_number(text.substr(0, colon), text);
  if (op >= ops) {
    throw std::invalid_argument("--explain " + text + ": layer " + std::to_string(op) +
                                " does not exist (the model has ops 0.." + std::to_string(ops - 1) + ")");
  }
  const Dims& shape = plan.activations[static_cast<size_t>(op) + 1].shape;
  const int64_t numel = checked_numel(shape, "output");
  const std::string rest = text.substr(colon + 1);
  const std::string label =
      op_label(static_cast<size_t>(op), plan, op_name(model.ops[static_cast<size_t>(op)]));
  ElementIndex element{static_cast<size_t>(op), 0};
  if (!rest.empty() && rest[0] == '#') {
    element.flat = parse_number(rest.substr(1), text);
    if (element.flat >= numel) {
      throw std::invalid_argument("--explain " + text + ": flat index " + std::to_string(element.flat) +
                                  " is outside [0, " + std::to_string(numel) + ") of " + label);
    }
    return element;
  }
  const std::vector<int64_t> coords = parse_numbers(rest, text);
  if (coords.size() != shape.size()) {
    throw std::invalid_argument("--explain " + text + ": " + label + " has " + std::to_string(shape.size()) +
                                " dimensions, but " + std::to_string(coords.size()) +
                                " coordinates were given (or use LAYER:#FLAT)");
  }
  static const char* const kAxis[] = {"channel", "row", "column"};
  for (size_t k = 0; k < coords.size(); ++k) {
    if (coords[k] >= shape[k]) {
      const std::string axis = shape.size() == 3 ? kAxis[k] : "index";
      throw std::invalid_argument("--explain " + text + ": " + axis + " " + std::to_string(coords[k]) +
                                  " is outside [0, " + std::to_string(shape[k]) + ") of " + label);
    }
    element.flat = element.flat * shape[k] + coords[k];
  }
  return element;
}

std::string element_coordinates(const ElementIndex& element, const Dims& shape) {
  Dims coords(shape.size());
  int64_t rest = element.flat;
  for (size_t k = shape.size(); k-- > 0;) {
    coords[k] = rest % shape[k];
    rest /= shape[k];
  }
  return dims_to_string(coords);
}

IntTensor value_codes(const Model& model, const IntTensor& input, int64_t value, RequantMode mode) {
  if (value == 0) return input;
  const ModelPlan plan = plan_model(model);
  assert(value > 0 && value < static_cast<int64_t>(plan.activations.size()));
  Model cut = model;
  cut.ops.resize(static_cast<size_t>(value));
  cut.output.quant = plan.activations[static_cast<size_t>(value)].quant;
  return run(cut, input, {.mode = mode});
}

Explanation explain_element(const Model& model, const IntTensor& input, const ElementIndex& element,
                            RequantMode mode) {
  const ModelPlan plan = plan_model(model);
  if (input.batch() != 1) {
    throw std::invalid_argument("explain: expects one sample, found a batch of " +
                                std::to_string(input.batch()));
  }
  assert(element.op < model.ops.size());
  const Dims& out_shape = plan.activations[element.op + 1].shape;
  OpInputs in;
  for (const int64_t v : plan.inputs[element.op]) {
    in.values.push_back(value_codes(model, input, v, mode));
    in.activations.push_back(plan.activations[static_cast<size_t>(v)]);
  }
  Explanation e;
  e.element = element;
  e.op = op_name(model.ops[element.op]);
  e.coordinates = element_coordinates(element, out_shape);
  const Derivation d{in, out_shape, element.flat, mode, e.steps};
  e.derived = std::visit([&](const auto& op) { return derive(op, d); }, model.ops[element.op].op());
  e.runtime = value_codes(model, input, static_cast<int64_t>(element.op) + 1, mode)
                  .data[static_cast<size_t>(element.flat)];
  const QuantParams& out = plan.activations[element.op + 1].quant;
  e.real = out.scale * (e.derived - out.zero_point);
  e.steps.push_back({"real value S_out*(q - Z_out), S_out = " + value_text(out.scale) +
                         ", Z_out = " + std::to_string(out.zero_point),
                     e.real});
  return e;
}

std::string explanation_text(const Explanation& e) {
  size_t width = 0;
  for (const ExplainStep& s : e.steps)
    width = std::max(width, s.what.size());
  std::ostringstream out;
  out << "op " << e.element.op << " (" << e.op << "), output element " << e.coordinates << " (flat "
      << e.element.flat << ")\n";
  for (const ExplainStep& s : e.steps)
    out << "  " << s.what << std::string(width - s.what.size() + 2, ' ') << value_text(s.value) << "\n";
  out << "derived code " << e.derived << ", runtime code " << e.runtime << ": "
      << (e.matches() ? "equal" : "DIFFERENT") << "\n";
  return out.str();
}

nlohmann::json explanation_json(const Explanation& e) {
  nlohmann::json steps = nlohmann::json::array();
  for (const ExplainStep& s : e.steps)
    steps.push_back({{"what", s.what}, {"value", s.value}});
  return {{"op_index", e.element.op},
          {"op", e.op},
          {"element", e.coordinates},
          {"flat", e.element.flat},
          {"steps", steps},
          {"derived", e.derived},
          {"runtime", e.runtime},
          {"matches", e.matches()},
          {"real", e.real}};
}

}  // namespace qg::runtime
