#include "runtime/ops/add.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "runtime/ops/simd_clones.h"

namespace qg::runtime {

std::array<double, 3> add_real_multipliers(const QuantParams& a, const QuantParams& b,
                                           const QuantParams& output) {
  // tensorflow/lite/kernels/add.cc, Prepare: the three multipliers from the three scales, in double.
  const double twice_max_input_scale = 2 * std::max(a.scale, b.scale);
  return {a.scale / twice_max_input_scale, b.scale / twice_max_input_scale,
          twice_max_input_scale / (static_cast<double>(int64_t{1} << kAddLeftShift) * output.scale)};
}

AddParams make_add_params(const QuantParams& a, const QuantParams& b, const QuantParams& output,
                          int32_t clamp_min, int32_t clamp_max) {
  a.validate_activation("input 0 quantization");
  b.validate_activation("input 1 quantization");
  output.validate_activation("output quantization");
  if (clamp_min > clamp_max || clamp_min < output.qmin() || clamp_max > output.qmax()) {
    throw std::invalid_argument("clamp range [" + std::to_string(clamp_min) + ", " +
                                std::to_string(clamp_max) +
                                "] is not an ordered range inside the output codes [" +
                                std::to_string(output.qmin()) + ", " + std::to_string(output.qmax()) + "]");
  }
  AddParams p;
  p.input_zero_points = {a.zero_point, b.zero_point};
  p.output_zero_point = output.zero_point;
  p.clamp_min = clamp_min;
  p.clamp_max = clamp_max;
  const auto [real_a, real_b, real_output_multiplier] = add_real_multipliers(a, b, output);
  p.input_multipliers = {quantize_multiplier(real_a), quantize_multiplier(real_b)};
  try {
    p.output_multiplier = quantize_multiplier(real_output_multiplier);
  } catch (const std::invalid_argument& e) {
    std::ostringstream text;
    text << "the output scale " << output.scale << " is too small for the input scales " << a.scale << " and "
         << b.scale << ": " << e.what();
    throw std::invalid_argument(text.str());
  }
  return p;
}

Int32Rescale make_int32_rescale(const AddParams& params, size_t k) {
  assert(k < 2 && params.left_shift == kAddLeftShift);
  const QuantizedMultiplier m = params.input_multipliers[k];
  const int t = 31 - kAddLeftShift - m.shift;  // the total right shift of d * M0
  assert(m.shift <= 0 && t >= 11 && t <= 42);  // M <= 1/2 (make_add_params), and the shift's range
  Int32Rescale r;
  r.zero_point = params.input_zero_points[k];
  r.high = m.multiplier >> 11;
  r.low = m.multiplier & ((int32_t{1} << 11) - 1);
  r.round_high = t >= 12 ? int32_t{1} << (t - 12) : 0;
  r.round_low = t == 11 ? int32_t{1} << 10 : 0;
  r.shift = t - 11;
  return r;
}

Add Add::make(const QuantParams& a, const QuantParams& b, const QuantParams& output, int32_t clamp_min,
              int32_t clamp_max) {
  return Add{{a, b}, output, make_add_params(a, b, output, clamp_min, clamp_max)};
}

Activation Add::output(std::span<const Activation> inputs) const {
  assert(inputs.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    if (!(inputs[k].quant == input_quant[k])) {
      throw std::invalid_argument("input " + std::to_string(k) + " has " + quant_to_string(inputs[k].quant) +
                                  " but the op was built for " + quant_to_string(input_quant[k]));
    }
  }
  if (inputs[0].shape != inputs[1].shape) {
    throw std::invalid_argument("the inputs have different shapes " + dims_to_string(inputs[0].shape) +
                                " and " + dims_to_string(inputs[1].shape) + " (add does not broadcast)");
  }
  if (params !=
      make_add_params(input_quant[0], input_quant[1], output_quant, params.clamp_min, params.clamp_max)) {
    throw std::invalid_argument(
        "the fixed-point parameters do not match make_add_params of the quantizations (make the op with "
        "Add::make)");
  }
  return {inputs[0].shape, output_quant};
}

void add_reference(const AddParams& params, std::span<const int32_t> a, std::span<const int32_t> b,
                   std::span<int32_t> output) {
  assert(a.size() == output.size() && b.size() == output.size());
  for (size_t i = 0; i < output.size(); ++i)
    output[i] = add_code(a[i], b[i], params);
}

namespace {

// Everything by value, so that the compiler keeps it in registers across the loop.
//
// The last step is requantize_to_code(raw_sum, M_out, Z_out, clamp_min, clamp_max) without its saturation of
// round(raw_sum * M_out) to +-(2^31 - 1), and with the clamp applied before Z_out is added rather than after.
// Neither changes a code: the saturation moves only a value beyond the int32 range, and Z_out plus such a
// value lies outside [clamp_min, clamp_max] (codes have at most 8 bits) on the same side, saturated or not.
// The saturation's int64 compares and blends were most of the vectorised loop's instructions. (|raw_sum| <
// 2^28 and M0 < 2^31, so the product is below rounding_shift_right's limit of 2^62.)
QG_RUNTIME_CLONES
void add_loop(const Int32Rescale rescale_a, const Int32Rescale rescale_b, const AddParams params,
              const int32_t* a, const int32_t* b, int32_t* output, size_t n) {
  const int64_t multiplier = params.output_multiplier.multiplier;
  const int total_shift = 31 - params.output_multiplier.shift;
  const int64_t low = int64_t{params.clamp_min} - params.output_zero_point;
  const int64_t high = int64_t{params.clamp_max} - params.output_zero_point;
  for (size_t i = 0; i < n; ++i) {
    const int32_t raw_sum = int32_rescaled_input(a[i], rescale_a) + int32_rescaled_input(b[i], rescale_b);
    const int64_t rounded = rounding_shift_right(raw_sum * multiplier, total_shift);
    output[i] = static_cast<int32_t>(std::clamp(rounded, low, high)) + params.output_zero_point;
  }
}

}  // namespace

void add_fast(const AddParams& params, std::span<const int32_t> a, std::span<const int32_t> b,
              std::span<int32_t> output) {
  assert(a.size() == output.size() && b.size() == output.size());
  add_loop(make_int32_rescale(params, 0), make_int32_rescale(params, 1), params, a.data(), b.data(),
           output.data(), output.size());
}

void Add::forward(std::span<const Activation>, std::span<const std::span<const int32_t>> values,
                  std::span<int32_t> output, const OpContext& context) const {
  if (context.kernels == KernelChoice::Fast) {
    add_fast(params, values[0], values[1], output);
  } else {
    add_reference(params, values[0], values[1], output);
  }
}

nlohmann::json Add::encode(TensorWriter&, const std::string&) const {
  return {{"input_quants", nlohmann::json::array({quant_json(input_quant[0]), quant_json(input_quant[1])})},
          {"output_quant", quant_json(output_quant)},
          {"clamp", nlohmann::json::array({params.clamp_min, params.clamp_max})}};
}

Add Add::decode(const JsonField& f, const TensorReader&) {
  const JsonField quants = f["input_quants"];
  quants.array_size(2);
  const QuantParams a = read_quant(quants[0]), b = read_quant(quants[1]);
  const QuantParams output = read_quant(f["output_quant"]);
  constexpr int64_t kLow = std::numeric_limits<int32_t>::min(), kHigh = std::numeric_limits<int32_t>::max();
  const std::vector<int64_t> clamp = f["clamp"].as_int_array(kLow, kHigh, 2);
  try {
    return make(a, b, output, static_cast<int32_t>(clamp[0]), static_cast<int32_t>(clamp[1]));
  } catch (const std::invalid_argument& e) {
    f.fail(e.what());  // the clamp range, or scales that are valid each on its own but not together
  }
}

}  // namespace qg::runtime
