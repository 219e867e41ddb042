// Add: the element-wise sum of two activations of the same shape, each with its own quantization, requantized
// to the output's, as TFLite's quantized ADD (tensorflow/lite/kernels/add.cc, Prepare; the arithmetic in
// kernels/internal/reference/integer_ops/add.h, AddFunc). It is what the skip connection of a residual block
// becomes: the two branches reach the sum on different grids.
//
// With the inputs (S_a, Z_a), (S_b, Z_b) and the output (S_out, Z_out), the real sum
// S_out (q - Z_out) = S_a (a - Z_a) + S_b (b - Z_b) is computed in fixed point on a common grid 2^20 times
// finer than the coarser input (TFLite's left_shift = 20 for 8-bit codes):
// clang-format off
//
//   twice_max = 2 max(S_a, S_b)
//   a' = round(((a - Z_a) * 2^20) * M_a),   M_a = S_a / twice_max   (<= 1/2)
//   b' = round(((b - Z_b) * 2^20) * M_b),   M_b = S_b / twice_max   (<= 1/2)
//   q  = clamp(Z_out + round((a' + b') * M_out), clamp_min, clamp_max),   M_out = twice_max / (2^20 S_out)
//
// clang-format on
// Each of the three products is one fixed-point multiplier (quantize_multiplier, gemmlowp's M0 * 2^shift) and
// one multiply_by_quantized_multiplier (runtime/requantize.h), which rounds once, half away from zero, where
// TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp rounds twice (docs/runtime.md, "One rounding").
// |a - Z_a| <= 255, so (a - Z_a) * 2^20 < 2^28 and a' + b' < 2^28: int32 never overflows. The result is
// within one code of round((S_a (a - Z_a) + S_b (b - Z_b)) / S_out) + Z_out (the rounding of a' and b' is
// 2^-20 of the coarser input step). The clamp fuses a ReLU ([Z_out, qmax]) or a ReLU6 (clamp_max the code
// of 6) that follows the sum, as a conv's output stage does.
//
// add_code() is the whole computation for one element: the reference kernel calls it, and the fake-quant model
// in quant/ calls it to be bit-exact with this op. The fast kernel computes the same codes with a' and b' in
// int32 arithmetic (Int32Rescale below), so that a vector register holds 16 lanes where int64 holds 8; only
// the last product, of the sum, stays in 64 bits.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "runtime/activation.h"
#include "runtime/dims.h"
#include "runtime/op_context.h"
#include "runtime/op_json.h"
#include "runtime/quant_params.h"
#include "runtime/requantize.h"

namespace qg::runtime {

/// TFLite's left_shift for 8-bit codes: the inputs go onto a grid 2^20 times finer than the coarser one.
inline constexpr int kAddLeftShift = 20;

/// The integer parameters of one add (TFLite's ArithmeticParams), made offline by make_add_params.
struct AddParams {
  std::array<int32_t, 2> input_zero_points{};              ///< Z_a, Z_b
  std::array<QuantizedMultiplier, 2> input_multipliers{};  ///< M_a, M_b
  QuantizedMultiplier output_multiplier;                   ///< M_out
  int32_t output_zero_point = 0;                           ///< Z_out
  int32_t clamp_min = 0;                                   ///< output codes, within the output's range
  int32_t clamp_max = 255;
  int left_shift = kAddLeftShift;

  friend bool operator==(const AddParams&, const AddParams&) = default;
};

/// The real multipliers {M_a, M_b, M_out} of the formula above (TFLite's Prepare, in double): what
/// make_add_params turns into fixed point. No validation.
std::array<double, 3> add_real_multipliers(const QuantParams& a, const QuantParams& b,
                                           const QuantParams& output);

/// Offline: the parameters of an add of inputs `a`, `b` into `output`, clamped to [clamp_min, clamp_max].
/// Throws std::invalid_argument if a quantization is not a valid activation's, the clamp range is not inside
/// the output codes, or M_out is too large for a fixed-point multiplier (S_out below 2^-49 max(S_a, S_b)).
AddParams make_add_params(const QuantParams& a, const QuantParams& b, const QuantParams& output,
                          int32_t clamp_min, int32_t clamp_max);

/// The largest |a - Z_a|: qmax - qmin of 8-bit codes, the widest a QuantParams allows.
inline constexpr int32_t kMaxCodeDistance = 255;

/// Input `k`'s code on the common grid (a' for k = 0, b' for k = 1): round((code - Z_k) * 2^left_shift * M_k),
/// |result| < 2^27 for a code within input k's code range. k is 0 or 1.
inline int32_t add_rescaled_input(int32_t code, size_t k, const AddParams& p) {
  const int32_t shifted = (code - p.input_zero_points[k]) * (int32_t{1} << p.left_shift);
  return multiply_by_quantized_multiplier(shifted, p.input_multipliers[k]);
}

/// The output code of input codes `a` and `b` (each within its input's code range): the formula above.
inline int32_t add_code(int32_t a, int32_t b, const AddParams& p) {
  const int32_t raw_sum = add_rescaled_input(a, 0, p) + add_rescaled_input(b, 1, p);
  return requantize_to_code(raw_sum, p.output_multiplier, p.output_zero_point, p.clamp_min, p.clamp_max);
}

// add_rescaled_input in int32 arithmetic. With d = code - Z, u = |d| <= 255 and M = M0 * 2^(s - 31):
// clang-format off
//
//   a' = round(d * 2^20 * M0 / 2^(31 - s)) = sign(d) * floor((u * M0 + 2^(t - 1)) / 2^t),   t = 11 - s
//
// (multiply_by_quantized_multiplier rounds half away from zero). M <= 1/2, so s <= 0 and t >= 11; s >= -31,
// so t <= 42. u * M0 < 2^39 does not fit in int32, so M0 is split at bit 11, M0 = H * 2^11 + L
// (H < 2^20, L < 2^11), and the rounding term 2^(t - 1) joins the high piece when t >= 12 and the low one
// when t = 11. For integers X, Y >= 0, floor((X * 2^11 + Y) / 2^t) = floor((X + floor(Y / 2^11)) / 2^(t - 11)):
//
//   a' = sign(d) * ((u * H + R_H + ((u * L + R_L) >> 11)) >> (t - 11))
//   R_H = 2^(t - 12), R_L = 0   if t >= 12
//   R_H = 0,          R_L = 2^10 if t = 11
//
// Every term fits: u * H < 2^28, R_H <= 2^30, u * L + R_L < 2^19 + 2^10, so the sums stay below 2^31, and
// the shift t - 11 is in [0, 31]. Bit-exact with add_rescaled_input for every code (the test compares them
// on every d in [-255, 255] for every shift and many multipliers).
// clang-format on

/// One input's a' in int32 arithmetic: the constants of the formula above.
struct Int32Rescale {
  int32_t zero_point = 0;  ///< Z
  int32_t high = 0;        ///< H = M0 >> 11
  int32_t low = 0;         ///< L = M0 & (2^11 - 1)
  int32_t round_high = 0;  ///< R_H
  int32_t round_low = 0;   ///< R_L
  int32_t shift = 0;       ///< t - 11, in [0, 31]
};

/// The constants of input `k` (0 or 1) of `params`, which must come from make_add_params (asserts that the
/// input multiplier is at most 1/2 and left_shift is kAddLeftShift).
Int32Rescale make_int32_rescale(const AddParams& params, size_t k);

/// add_rescaled_input(code, k, params) for `rescale` = make_int32_rescale(params, k), in int32 arithmetic.
/// The code is first clamped to [Z - 255, Z + 255], which holds every code of the input's range (so the
/// result is exact there) and keeps every intermediate inside int32 for any other code.
inline int32_t int32_rescaled_input(int32_t code, const Int32Rescale& r) {
  const int32_t d =
      std::clamp(code, r.zero_point - kMaxCodeDistance, r.zero_point + kMaxCodeDistance) - r.zero_point;
  const int32_t u = d < 0 ? -d : d;
  const int32_t magnitude = (u * r.high + r.round_high + ((u * r.low + r.round_low) >> 11)) >> r.shift;
  return d < 0 ? -magnitude : magnitude;
}

struct Add {
  static constexpr const char* kName = "add";
  static constexpr uint32_t kFormatVersion = 3;  ///< the model-file version that introduced the op
  static constexpr size_t kMinInputs = 2;        ///< reads exactly two values
  static constexpr size_t kMaxInputs = 2;

  std::array<QuantParams, 2> input_quant;  ///< of the two values read, in order
  QuantParams output_quant;
  AddParams params;  ///< make_add_params of the above and the clamp range (its clamp_min, clamp_max)

  /// The op on inputs `a` and `b` with output `output`, clamped to [clamp_min, clamp_max] (e.g. [Z_out, qmax]
  /// for a fused ReLU). Throws std::invalid_argument as make_add_params.
  static Add make(const QuantParams& a, const QuantParams& b, const QuantParams& output, int32_t clamp_min,
                  int32_t clamp_max);

  /// The activation this op makes of `inputs` (two of the same shape, with the quantizations input_quant),
  /// after validating its parameters against them (params must equal make_add_params of the rest). Throws
  /// std::invalid_argument with a message that does not yet name the op (the model adds that).
  Activation output(std::span<const Activation> inputs) const;
  /// One sample: `values[k]` has inputs[k].shape, `output` the same shape.
  void forward(std::span<const Activation> inputs, std::span<const std::span<const int32_t>> values,
               std::span<int32_t> output, const OpContext& context) const;
  /// The op's fields of the model file's header ("type" and "inputs" are added by the caller):
  /// "input_quants", "output_quant", "clamp".
  nlohmann::json encode(TensorWriter& tensors, const std::string& prefix) const;
  /// The inverse of encode; errors name the field's JSON path.
  static Add decode(const JsonField& f, const TensorReader& tensors);
};

/// add_code element by element.
void add_reference(const AddParams& params, std::span<const int32_t> a, std::span<const int32_t> b,
                   std::span<int32_t> output);
/// The same codes with a' and b' from int32_rescaled_input, in a loop compiled for AVX-512, AVX2 and the
/// x86-64 baseline (it vectorises). `params` must come from make_add_params. For a code outside its input's
/// range (which no op produces) the result may differ from add_reference's, but is defined.
void add_fast(const AddParams& params, std::span<const int32_t> a, std::span<const int32_t> b,
              std::span<int32_t> output);

}  // namespace qg::runtime
