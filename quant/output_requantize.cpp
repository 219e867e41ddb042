#include "quant/output_requantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "autograd/function.h"
#include "core/kernels/elementwise.h"
#include "runtime/output_stage.h"

namespace qg::quant {

namespace {

struct FakeRequantizeFn {
  static constexpr const char* name = "fake_requantize";
  Tensor in_range;  // for Ste::Clipped

  Tensor forward(const Tensor& y, float input_scale, const QParams& weight, const QParams& output, Ste ste) {
    if (y.dim() < 2) throw std::invalid_argument("fake_requantize: expected [N, C, ...], got " + to_string(y.shape()));
    const int64_t channels = y.shape()[1];
    if (weight.per_channel() && static_cast<int64_t>(weight.channels()) != channels) {
      throw std::invalid_argument("fake_requantize: " + std::to_string(weight.channels()) + " weight scales for " +
                                  std::to_string(channels) + " output channels");
    }
    // The very output stage convert() will build (same multipliers, same rounding).
    const runtime::QuantParams out_q{output.scale[0], output.zero_point[0], output.spec.bits, output.spec.is_signed};
    const std::vector<double> weight_scales(weight.scale.begin(), weight.scale.end());
    const runtime::OutputStage stage = runtime::OutputStage::make(input_scale, weight_scales, out_q, false);

    const Tensor cy = y.contiguous();
    Tensor out = Tensor::empty(y.shape());
    if (ste == Ste::Clipped) in_range = Tensor::empty(y.shape());
    const int64_t inner = y.numel() / (y.shape()[0] * channels);
    const float out_scale = output.scale[0];
    const int32_t zero = output.zero_point[0];
    for (int64_t n = 0; n < y.shape()[0]; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const double accumulator_scale = static_cast<double>(input_scale) * weight_scales[weight.per_channel() ? c : 0];
        const int64_t base = (n * channels + c) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          const double acc = std::nearbyint(cy.data()[base + i] / accumulator_scale);
          const auto acc32 = static_cast<int32_t>(std::clamp(acc, -2147483647.0, 2147483647.0));
          const int64_t code = int64_t{runtime::multiply_by_quantized_multiplier(
                                   acc32, stage.multipliers[weight.per_channel() ? c : 0])} + zero;
          const int64_t clamped = std::clamp<int64_t>(code, out_q.qmin(), out_q.qmax());
          out.data()[base + i] = static_cast<float>(clamped - zero) * out_scale;
          if (in_range.defined()) in_range.data()[base + i] = clamped == code ? 1.0f : 0.0f;
        }
      }
    }
    return out;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    return {in_range.defined() ? kernel::mul(grad, in_range) : grad};
  }
};

}  // namespace

Tensor fake_requantize(const Tensor& y, float input_scale, const QParams& weight, const QParams& output, Ste ste) {
  if (output.per_channel()) throw std::invalid_argument("fake_requantize: activations are quantized per tensor");
  return apply<FakeRequantizeFn>(y, input_scale, weight, output, ste);
}

}  // namespace qg::quant
