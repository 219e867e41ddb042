#include "quant/fake_quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "autograd/function.h"
#include "core/kernels/elementwise.h"

namespace qg::quant {

namespace {

// Applies f(value, scale, zero_point) element-wise, choosing the scale of each element's channel.
// Per-tensor parameters use one (scale, zp); per-channel ones view x as [outer, channels, inner].
template <class F>
Tensor map_quantized(const Tensor& x, const QParams& qp, F f) {
  const Tensor cx = x.contiguous();
  Tensor out = Tensor::zeros(x.shape());
  const float* in = cx.data();
  float* o = out.data();
  if (!qp.per_channel()) {
    const float s = qp.scale[0];
    const int32_t zp = qp.zero_point[0];
    for (int64_t i = 0; i < x.numel(); ++i)
      o[i] = f(in[i], s, zp);
    return out;
  }
  const int64_t axis = normalize_axis(qp.axis, x.dim(), "fake_quantize");
  if (x.shape()[axis] != static_cast<int64_t>(qp.channels())) {
    throw std::invalid_argument("fake_quantize: tensor " + to_string(x.shape()) + " has " +
                                std::to_string(x.shape()[axis]) + " channels on axis " +
                                std::to_string(axis) + " but the parameters have " +
                                std::to_string(qp.channels()));
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= x.shape()[i];
  for (int64_t i = axis + 1; i < x.dim(); ++i)
    inner *= x.shape()[i];
  const int64_t channels = x.shape()[axis];
  for (int64_t o_i = 0; o_i < outer; ++o_i) {
    for (int64_t c = 0; c < channels; ++c) {
      const float s = qp.scale[c];
      const int32_t zp = qp.zero_point[c];
      const int64_t base = (o_i * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i)
        o[base + i] = f(in[base + i], s, zp);
    }
  }
  return out;
}

struct FakeQuantizeFn {
  static constexpr const char* name = "fake_quantize";
  Tensor in_range;  // 1 where x fell inside [qmin, qmax] before clamping (only for Ste::Clipped)

  Tensor forward(const Tensor& x, const QParams& qp, Ste ste) {
    const float qmin = static_cast<float>(qp.spec.qmin()), qmax = static_cast<float>(qp.spec.qmax());
    if (qp.spec.binary()) {  // a sign has no range to clip: the STE passes everything
      return map_quantized(x, qp, [](float v, float s, int32_t) { return binary_code(v) * s; });
    }
    if (ste == Ste::Clipped) {
      in_range = map_quantized(x, qp, [=](float v, float s, int32_t zp) {
        const float q = std::nearbyint(v / s + static_cast<float>(zp));
        return (q >= qmin && q <= qmax) ? 1.0f : 0.0f;
      });
    }
    return map_quantized(x, qp, [=](float v, float s, int32_t zp) {
      const float q = std::clamp(std::nearbyint(v / s + static_cast<float>(zp)), qmin, qmax);
      return (q - static_cast<float>(zp)) * s;
    });
  }

  // Straight-through: the gradient passes unchanged (or masked to the unclamped region).
  std::vector<Tensor> backward(const Tensor& grad) {
    if (!in_range.defined()) return {grad};
    return {kernel::mul(grad, in_range)};
  }
};

// y = s_in s_w[c] * round(b / (s_in s_w[c])): see fake_quantize_bias in the header.
struct FakeQuantizeBiasFn {
  static constexpr const char* name = "fake_quantize_bias";
  Tensor forward(const Tensor& bias, float input_scale, const QParams& wq) {
    if (bias.dim() != 1 || (wq.per_channel() && bias.numel() != static_cast<int64_t>(wq.channels()))) {
      throw std::invalid_argument("fake_quantize_bias: bias " + to_string(bias.shape()) + " does not match " +
                                  std::to_string(wq.channels()) + " weight scales");
    }
    Tensor out = bias.contiguous().clone();
    float* b = out.data();
    for (int64_t c = 0; c < out.numel(); ++c) {
      const double scale = static_cast<double>(input_scale) * wq.scale[wq.per_channel() ? c : 0];
      b[c] = static_cast<float>(std::nearbyint(b[c] / scale) * scale);
    }
    return out;
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {grad}; }
};

}  // namespace

Tensor fake_quantize_bias(const Tensor& bias, float input_scale, const QParams& weight_qparams) {
  if (!bias.defined()) return bias;
  return apply<FakeQuantizeBiasFn>(bias, input_scale, weight_qparams);
}

Tensor fake_quantize(const Tensor& x, const QParams& qparams, Ste ste) {
  return apply<FakeQuantizeFn>(x, qparams, ste);
}

Tensor quantize_codes(const Tensor& x, const QParams& qp) {
  if (qp.spec.binary()) return map_quantized(x, qp, [](float v, float, int32_t) { return binary_code(v); });
  const float qmin = static_cast<float>(qp.spec.qmin()), qmax = static_cast<float>(qp.spec.qmax());
  return map_quantized(x, qp, [=](float v, float s, int32_t zp) {
    return std::clamp(std::nearbyint(v / s + static_cast<float>(zp)), qmin, qmax);
  });
}

}  // namespace qg::quant
