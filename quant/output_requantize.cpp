#include "quant/output_requantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "autograd/function.h"
#include "core/kernels/elementwise.h"
#include "core/parallel.h"
#include "core/simd.h"
#include "quant/observer.h"
#include "runtime/output_stage.h"

namespace qg::quant {

namespace {

constexpr int64_t kElementsPerTask = 16384;

// Everything one output channel needs, in the integer form the row loop uses.
struct RowStage {
  double accumulator_scale;  // S_in * S_w[c]: the value of one accumulator unit
  int32_t multiplier;        // M0 of runtime::QuantizedMultiplier
  int total_shift;           // 31 - shift, in [1, 62]: the product is divided by 2^total_shift
  int64_t low, high;         // qmin - Z and qmax - Z: the codes' range relative to the zero point
  float output_scale;

  static RowStage make(double accumulator_scale, runtime::QuantizedMultiplier m,
                       const runtime::QuantParams& out, float output_scale) {
    return {accumulator_scale,
            m.multiplier,
            31 - m.shift,
            int64_t{out.qmin()} - out.zero_point,
            int64_t{out.qmax()} - out.zero_point,
            output_scale};
  }
};

constexpr int64_t kChunk = 256;

// y -> acc -> code -> y_fq for up to kChunk outputs of one channel, and the clipped STE's mask: what
// requantize_outputs_reference computes, in two loops:
//  1. acc = round(y / (S_in S_w)) in double, half to even like std::nearbyint, written as
//     (q + 1.5 * 2^52) - 1.5 * 2^52 (exact for |q| < 2^51) so that GCC vectorises it; clamped to the int32
//     range first (and NaN, which observers reject while training, to its lower end instead of an undefined
//     conversion).
//  2. The exact 64-bit product acc * M0, rounded by runtime::rounding_shift_right (the runtime's own
//     rounding). The runtime then saturates to +-(2^31 - 1), adds Z and clamps to [qmin, qmax]; with codes
//     of at most 16 bits, clamping r to [qmin - Z, qmax - Z] directly gives the same code.
QG_SIMD_CLONES
void requantize_chunk(const float* y, int64_t count, const RowStage& s, float* out, float* in_range) {
  constexpr double kLimit = 2147483647.0;
  constexpr double kRoundingBias = 0x1.8p52;
  int32_t acc[kChunk];
  const double unit = s.accumulator_scale;
  for (int64_t i = 0; i < count; ++i) {
    // std::max(-L, NaN) is -L (its comparison is false): NaN lands on the lowest code, never in a cast.
    const double q = std::min(kLimit, std::max(-kLimit, static_cast<double>(y[i]) / unit));
    acc[i] = static_cast<int32_t>((q + kRoundingBias) - kRoundingBias);
  }
  const int shift = s.total_shift;
  const int64_t multiplier = s.multiplier, low = s.low, high = s.high;
  const float scale = s.output_scale;
  float mask[kChunk];
  for (int64_t i = 0; i < count; ++i) {
    const int64_t r = runtime::rounding_shift_right(int64_t{acc[i]} * multiplier, shift);
    const int64_t clamped = std::min(std::max(r, low), high);
    // A NaN input stays NaN (the code above went through as qmin). The choice is made on the bits: a
    // floating-point select leaves the conversion and product in one arm, which GCC may not execute
    // unconditionally (they could trap), so the loop would branch and not vectorise.
    const float value = static_cast<float>(static_cast<int32_t>(clamped)) * scale;
    const auto input = std::bit_cast<uint32_t>(y[i]);
    const uint32_t nan = (input & 0x7FFFFFFFu) > 0x7F800000u ? ~0u : 0u;
    out[i] = std::bit_cast<float>((std::bit_cast<uint32_t>(value) & ~nan) | (input & nan));
    mask[i] = clamped == r ? 1.0f : 0.0f;
  }
  if (in_range) std::memcpy(in_range, mask, static_cast<size_t>(count) * sizeof(float));
}

void requantize_row(const float* y, int64_t count, const RowStage& s, float* out, float* in_range) {
  for (int64_t begin = 0; begin < count; begin += kChunk) {
    requantize_chunk(y + begin, std::min(kChunk, count - begin), s, out + begin,
                     in_range ? in_range + begin : nullptr);
  }
}

}  // namespace

RequantizedOutput requantize_outputs(const Tensor& y, float input_scale, const QParams& weight,
                                     const QParams& output, bool with_mask) {
  if (output.per_channel())
    throw std::invalid_argument("fake_requantize: activations are quantized per tensor");
  if (y.dim() < 2)
    throw std::invalid_argument("fake_requantize: expected [N, C, ...], got " + to_string(y.shape()));
  const int64_t channels = y.shape()[1];
  if (weight.per_channel() && static_cast<int64_t>(weight.channels()) != channels) {
    throw std::invalid_argument("fake_requantize: " + std::to_string(weight.channels()) +
                                " weight scales for " + std::to_string(channels) + " output channels");
  }
  // The very output stage convert() will build (same multipliers, same rounding).
  const runtime::QuantParams out_q{output.scale[0], output.zero_point[0], output.spec.bits,
                                   output.spec.is_signed};
  const std::vector<double> weight_scales(weight.scale.begin(), weight.scale.end());
  // While training, scales can run away (QAT at 2 bits with observers, ema); the multiplier then leaves the
  // fixed-point range long before anything is NaN. That is a divergence of the training, not a bug here.
  const double largest_multiplier =
      input_scale * *std::max_element(weight_scales.begin(), weight_scales.end()) / out_q.scale;
  if (!(largest_multiplier < std::ldexp(1.0, runtime::kMaxMultiplierShift))) {
    throw QuantizationDiverged("fake_requantize: the requantization multiplier S_in S_w / S_out = " +
                               std::to_string(largest_multiplier) +
                               " is beyond the fixed-point range [0, 2^30): the scales diverged (input " +
                               std::to_string(input_scale) + ", output " + std::to_string(out_q.scale) + ")");
  }
  const runtime::OutputStage stage = runtime::OutputStage::make(input_scale, weight_scales, out_q, false);

  const Tensor cy = y.contiguous();
  Tensor out = Tensor::empty(y.shape());
  Tensor in_range = with_mask ? Tensor::empty(y.shape()) : Tensor();
  if (y.numel() == 0) return {out, in_range};
  const int64_t rows = y.shape()[0] * channels;  // one row = one (image, channel) pair
  const int64_t inner = y.numel() / rows;
  std::vector<RowStage> row_stages(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const size_t w = weight.per_channel() ? static_cast<size_t>(c) : 0;
    row_stages[static_cast<size_t>(c)] = RowStage::make(static_cast<double>(input_scale) * weight_scales[w],
                                                        stage.multipliers[w], out_q, output.scale[0]);
  }
  const int64_t rows_per_task = std::max<int64_t>(1, kElementsPerTask / std::max<int64_t>(inner, 1));
  parallel::parallel_for(parallel::task_count(rows, rows_per_task), [&](int64_t task) {
    const int64_t end = std::min(rows, (task + 1) * rows_per_task);
    for (int64_t row = task * rows_per_task; row < end; ++row) {
      const int64_t offset = row * inner;
      requantize_row(cy.data() + offset, inner, row_stages[static_cast<size_t>(row % channels)],
                     out.data() + offset, in_range.defined() ? in_range.data() + offset : nullptr);
    }
  });
  return {out, in_range};
}

std::vector<float> requantize_outputs_reference(const Tensor& y, float input_scale, const QParams& weight,
                                                const QParams& output, std::vector<float>* in_range) {
  const runtime::QuantParams out_q{output.scale[0], output.zero_point[0], output.spec.bits,
                                   output.spec.is_signed};
  const std::vector<double> weight_scales(weight.scale.begin(), weight.scale.end());
  const auto stage = runtime::OutputStage::make(input_scale, weight_scales, out_q, false);
  const int64_t channels = y.shape()[1], inner = y.numel() / (y.shape()[0] * channels);
  const std::vector<float> v = y.to_vector();
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t c =
        weight.per_channel() ? static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels) : 0;
    const double unit = static_cast<double>(input_scale) * weight_scales[c];
    const double acc = std::clamp(std::nearbyint(v[i] / unit), -2147483647.0, 2147483647.0);
    const int64_t code =
        int64_t{runtime::multiply_by_quantized_multiplier(static_cast<int32_t>(acc), stage.multipliers[c])} +
        out_q.zero_point;
    const int64_t clamped = std::clamp<int64_t>(code, out_q.qmin(), out_q.qmax());
    out[i] = static_cast<float>(clamped - out_q.zero_point) * output.scale[0];
    if (in_range) in_range->push_back(clamped == code ? 1.0f : 0.0f);
  }
  return out;
}

namespace {

struct FakeRequantizeFn {
  static constexpr const char* name = "fake_requantize";
  Tensor in_range;  // for Ste::Clipped

  Tensor forward(const Tensor& y, float input_scale, const QParams& weight, const QParams& output, Ste ste) {
    RequantizedOutput r = requantize_outputs(y, input_scale, weight, output, ste == Ste::Clipped);
    in_range = std::move(r.in_range);
    return r.values;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    return {in_range.defined() ? kernel::mul(grad, in_range) : grad};
  }
};

}  // namespace

Tensor fake_requantize(const Tensor& y, float input_scale, const QParams& weight, const QParams& output,
                       Ste ste) {
  return apply<FakeRequantizeFn>(y, input_scale, weight, output, ste);
}

}  // namespace qg::quant
