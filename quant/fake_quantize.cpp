#include "quant/fake_quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "autograd/function.h"
#include "core/kernels/elementwise.h"
#include "quant/fake_quantize_run.h"

namespace qg::quant {

namespace {

// Calls run(begin, n, scale, zero_point) for every run of values that share one (scale, zero point), the
// elements [begin, begin + n) of x in memory order: the whole tensor for per-tensor parameters; per-channel
// ones view x as [outer, channels, inner], one run per (outer, channel). x must be contiguous.
template <class Run>
void for_each_run(const Tensor& x, const QParams& qp, Run run) {
  if (!qp.per_channel()) {
    run(0, x.numel(), qp.scale[0], qp.zero_point[0]);
    return;
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
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c)
      run((o * channels + c) * inner, inner, qp.scale[c], qp.zero_point[c]);
  }
}

// The codes of binary parameters, or the values they stand for: sign(x) (+1 at 0), times s when `scaled`.
Tensor binary_values(const Tensor& x, const QParams& qp, bool scaled) {
  const Tensor cx = x.contiguous();
  Tensor out = Tensor::empty(x.shape());  // every element is written
  for_each_run(cx, qp, [&](int64_t begin, int64_t n, float s, int32_t) {
    for (int64_t i = begin; i < begin + n; ++i)
      out.data()[i] = binary_code(cx.data()[i]) * (scaled ? s : 1.0f);
  });
  return out;
}

struct FakeQuantizeFn {
  static constexpr const char* name = "fake_quantize";
  Tensor in_range;  // 1 where x fell inside [qmin, qmax] before clamping (only for Ste::Clipped)

  Tensor forward(const Tensor& x, const QParams& qp, Ste ste) {
    // A sign has no range to clip: the straight-through estimator passes everything.
    if (qp.spec.binary()) return binary_values(x, qp, true);
    const float qmin = static_cast<float>(qp.spec.qmin()), qmax = static_cast<float>(qp.spec.qmax());
    const Tensor cx = x.contiguous();
    Tensor out = Tensor::empty(x.shape());  // every element is written
    if (ste == Ste::Clipped) in_range = Tensor::empty(x.shape());
    float* const mask = in_range.defined() ? in_range.data() : nullptr;
    for_each_run(cx, qp, [&](int64_t begin, int64_t n, float s, int32_t zp) {
      fake_quantize_run(cx.data() + begin, n, s, zp, qmin, qmax, out.data() + begin,
                        mask != nullptr ? mask + begin : nullptr);
    });
    return out;
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
  if (qp.spec.binary()) return binary_values(x, qp, false);
  const float qmin = static_cast<float>(qp.spec.qmin()), qmax = static_cast<float>(qp.spec.qmax());
  const Tensor cx = x.contiguous();
  Tensor codes = Tensor::empty(x.shape());  // every element is written
  for_each_run(cx, qp, [&](int64_t begin, int64_t n, float s, int32_t zp) {
    quantize_codes_run(cx.data() + begin, n, s, zp, qmin, qmax, codes.data() + begin);
  });
  return codes;
}

}  // namespace qg::quant
