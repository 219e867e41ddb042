#include "quant/fake_quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "autograd/function.h"
#include "core/kernels/elementwise.h"
#include "core/simd.h"

namespace qg::quant {

namespace {

// Applies run(in, n, scale, zero_point, out) to every run of values that share one (scale, zero point): the
// whole tensor for per-tensor parameters; per-channel ones view x as [outer, channels, inner], one run per
// (outer, channel).
template <class Run>
Tensor map_runs(const Tensor& x, const QParams& qp, Run run) {
  const Tensor cx = x.contiguous();
  Tensor out = Tensor::empty(x.shape());  // every element is written
  const float* in = cx.data();
  float* o = out.data();
  if (!qp.per_channel()) {
    run(in, x.numel(), qp.scale[0], qp.zero_point[0], o);
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
      const int64_t base = (o_i * channels + c) * inner;
      run(in + base, inner, qp.scale[c], qp.zero_point[c], o + base);
    }
  }
  return out;
}

// Applies f(value, scale, zero_point) element-wise, choosing the scale of each element's channel.
template <class F>
Tensor map_quantized(const Tensor& x, const QParams& qp, F f) {
  return map_runs(x, qp, [&](const float* in, int64_t n, float s, int32_t zp, float* o) {
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(in[i], s, zp);
  });
}

// The two element-wise passes of FakeQuantize's forward on a run of one (s, Z), compiled per instruction set:
// from SSE4.1 on, nearbyint is one instruction and the loops vectorise, where the baseline x86-64 calls the
// library for every element. Both compute q = round(x / s + Z) (half to even) as quantize_codes does.
// x̂ = (clamp(q, qmin, qmax) - Z) s:
QG_SIMD_CLONES void fake_quantize_run(const float* x, int64_t n, float s, int32_t zp, float qmin, float qmax,
                                      float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::clamp(std::nearbyint(x[i] / s + static_cast<float>(zp)), qmin, qmax);
    out[i] = (q - static_cast<float>(zp)) * s;
  }
}

// 1 where q fell inside [qmin, qmax] before clamping, else 0 (NaN: 0):
QG_SIMD_CLONES void in_range_run(const float* x, int64_t n, float s, int32_t zp, float qmin, float qmax,
                                 float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::nearbyint(x[i] / s + static_cast<float>(zp));
    out[i] = (q >= qmin && q <= qmax) ? 1.0f : 0.0f;
  }
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
      in_range = map_runs(x, qp, [=](const float* in, int64_t n, float s, int32_t zp, float* out) {
        in_range_run(in, n, s, zp, qmin, qmax, out);
      });
    }
    return map_runs(x, qp, [=](const float* in, int64_t n, float s, int32_t zp, float* out) {
      fake_quantize_run(in, n, s, zp, qmin, qmax, out);
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
