#include "quant/fake_quantize_learnable.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <vector>

#include "autograd/function.h"
#include "core/batch_reduction.h"
#include "quant/fake_quantize_run.h"
#include "quant/learnable_gradients.h"
#include "quant/output_requantize.h"

namespace qg::quant {

namespace {

void check_scale(const Tensor& scale, int64_t channels, const char* who) {
  if (scale.dim() != 1 || (scale.numel() != 1 && scale.numel() != channels)) {
    throw std::invalid_argument(std::string(who) + ": step size of shape " + to_string(scale.shape()) +
                                " for " + std::to_string(channels) + " channels (expected [1] or [" +
                                std::to_string(channels) + "])");
  }
  const Tensor c = scale.contiguous();
  for (int64_t i = 0; i < c.numel(); ++i) {
    if (!(c.data()[i] > 0.0f) || !std::isfinite(c.data()[i])) {
      throw std::invalid_argument(std::string(who) + ": step size " + std::to_string(c.data()[i]) +
                                  " is not positive and finite");
    }
  }
}

// Z as the forward pass uses it: the learned float zero point rounded (half to even) and clamped.
int32_t rounded_zero_point(const Tensor& zero_point, const QuantSpec& spec) {
  if (!zero_point.defined()) return 0;
  if (zero_point.numel() != 1) throw std::invalid_argument("fake_quantize_learnable: zero point must be [1]");
  const float z = zero_point.contiguous().data()[0];
  if (!std::isfinite(z)) throw std::invalid_argument("fake_quantize_learnable: zero point is not finite");
  return static_cast<int32_t>(
      std::clamp(std::nearbyint(z), static_cast<float>(spec.qmin()), static_cast<float>(spec.qmax())));
}

// The LSQ/LSQ+ gradients of one quantizer from what the forward pass computed: x (its input), x̂ (its
// output) and the in-range mask, channel c of element i being (i / inner) % channels. Returns
// {dL/dx, dL/ds, dL/dz} (dL/dz undefined without a learnable zero point). The sums are
// quant/learnable_gradients.h's, over one run per step size, in double.
//
// Split-invariant sums (core/batch_reduction.h), for a per-tensor quantizer of an activation [B, ...]: the
// runs are the images (rows of axis 0), each image's sums are scaled by grad_scale into a float, and the
// images' floats are added in the halving tree, then over the processes, as every other parameter gradient is.
std::vector<Tensor> learnable_backward(const Tensor& grad, const Tensor& x, const Tensor& x_hat,
                                       const Tensor& in_range, const Tensor& scale, bool with_zero_point,
                                       int64_t inner, float grad_scale, bool batch_axis) {
  const Tensor g = grad.contiguous();
  const int64_t n = g.numel(), channels = scale.numel();
  const bool per_image = batch_axis && channels == 1 && g.dim() > 0 && batch_reduction::split_invariant();
  std::vector<LearnableRun> runs;
  if (per_image) {
    const int64_t images = g.shape()[0], per = images > 0 ? n / images : 0;
    for (int64_t image = 0; image < images; ++image)
      runs.push_back({image * per, per, scale.data()[0]});
  } else {
    for (int64_t begin = 0, block = 0; begin < n; begin += inner, ++block)  // one channel's slice at a time
      runs.push_back({begin, std::min(inner, n - begin), scale.data()[channels == 1 ? 0 : block % channels]});
  }
  Tensor dx = Tensor::empty(g.shape());
  const LearnableBackwardInputs in{g.data(), x.data(), x_hat.data(), in_range.data(), n};
  const std::vector<LearnableSums> sums = learnable_run_sums(in, runs, dx.data());
  if (per_image) {
    std::vector<float> ds(std::max<size_t>(sums.size(), 1), 0.0f), dz(ds.size(), 0.0f);
    for (size_t image = 0; image < sums.size(); ++image) {
      ds[image] = static_cast<float>(sums[image].ds * grad_scale);
      dz[image] = static_cast<float>(sums[image].dz * grad_scale);
    }
    batch_reduction::tree_sum(ds.data(), static_cast<int64_t>(ds.size()), 1);
    batch_reduction::tree_sum(dz.data(), static_cast<int64_t>(dz.size()), 1);
    float totals[2] = {ds[0], dz[0]};
    batch_reduction::cross_process_sum(std::span<float>(totals, 2));
    return {dx, Tensor::full(scale.shape(), totals[0]),
            with_zero_point ? Tensor::full({1}, totals[1]) : Tensor()};
  }
  std::vector<double> ds(static_cast<size_t>(channels), 0.0);
  double dz = 0.0;
  for (size_t r = 0; r < runs.size(); ++r) {  // in run order
    ds[static_cast<size_t>(channels == 1 ? 0 : static_cast<int64_t>(r) % channels)] += sums[r].ds;
    dz += sums[r].dz;
  }
  Tensor dscale = Tensor::empty(scale.shape());
  for (int64_t c = 0; c < channels; ++c)
    dscale.data()[c] = static_cast<float>(ds[static_cast<size_t>(c)] * grad_scale);
  Tensor dzero;
  if (with_zero_point) dzero = Tensor::full({1}, static_cast<float>(dz * grad_scale));
  return {dx, dscale, dzero};
}

struct FakeQuantizeLearnableFn {
  static constexpr const char* name = "fake_quantize_learnable";
  Tensor x, x_hat, in_range, scale;
  int64_t inner = 1;
  bool with_zero_point = false;
  float grad_scale = 1.0f;

  bool batch_axis = false;

  Tensor forward(const Tensor& input, const Tensor& s, const Tensor& zero_point, const QuantSpec& spec,
                 float g, bool over_batch) {
    batch_axis = over_batch;
    spec.validate();
    if (spec.binary())
      throw std::invalid_argument("fake_quantize_learnable: binary codes have no step size to learn");
    const int64_t channels = input.dim() > 0 ? input.shape()[0] : 1;
    check_scale(s, channels, name);
    x = input.contiguous();
    scale = s.contiguous();
    with_zero_point = zero_point.defined();
    grad_scale = g;
    inner = scale.numel() == 1 ? x.numel() : x.numel() / std::max<int64_t>(channels, 1);
    const int32_t zp = rounded_zero_point(zero_point, spec);
    const float qmin = static_cast<float>(spec.qmin()), qmax = static_cast<float>(spec.qmax());
    x_hat = Tensor::empty(x.shape());
    in_range = Tensor::empty(x.shape());
    for (int64_t begin = 0, c = 0; begin < x.numel(); begin += inner, ++c) {  // one step size's run at a time
      fake_quantize_run(x.data() + begin, inner, scale.data()[scale.numel() == 1 ? 0 : c], zp, qmin, qmax,
                        x_hat.data() + begin, in_range.data() + begin);
    }
    return x_hat;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    return learnable_backward(grad, x, x_hat, in_range, scale, with_zero_point, inner, grad_scale,
                              batch_axis);
  }
};

struct FakeRequantizeLearnableFn {
  static constexpr const char* name = "fake_requantize_learnable";
  Tensor y, y_hat, in_range, scale;
  bool with_zero_point = false;
  float grad_scale = 1.0f;

  Tensor forward(const Tensor& input, float input_scale, const QParams& weight, const Tensor& s,
                 const Tensor& zero_point, const QuantSpec& spec, float g) {
    check_scale(s, 1, name);
    y = input.contiguous();
    scale = s.contiguous();
    with_zero_point = zero_point.defined();
    grad_scale = g;
    RequantizedOutput r =
        requantize_outputs(y, input_scale, weight, learnable_qparams(s, zero_point, spec), true);
    y_hat = r.values;
    in_range = r.in_range;
    return y_hat;
  }

  // The gradient w.r.t. y only: input_scale and weight are plain numbers here (the weight's step size
  // gets its gradient through the fake-quantized weight that produced y).
  std::vector<Tensor> backward(const Tensor& grad) {
    return learnable_backward(grad, y, y_hat, in_range, scale, with_zero_point, y.numel(), grad_scale, true);
  }
};

}  // namespace

Tensor fake_quantize_learnable(const Tensor& x, const Tensor& scale, const Tensor& zero_point,
                               const QuantSpec& spec, float grad_scale, bool batch_axis) {
  return apply<FakeQuantizeLearnableFn>(x, scale, zero_point, spec, grad_scale, batch_axis);
}

Tensor fake_requantize_learnable(const Tensor& y, float input_scale, const QParams& weight,
                                 const Tensor& scale, const Tensor& zero_point, const QuantSpec& spec,
                                 float grad_scale) {
  return apply<FakeRequantizeLearnableFn>(y, input_scale, weight, scale, zero_point, spec, grad_scale);
}

QParams learnable_qparams(const Tensor& scale, const Tensor& zero_point, const QuantSpec& spec) {
  QParams p;
  p.spec = spec;
  const std::vector<float> s = scale.contiguous().to_vector();
  p.scale = s;
  p.zero_point.assign(s.size(), rounded_zero_point(zero_point, spec));
  p.axis = s.size() > 1 ? 0 : -1;
  return p;
}

}  // namespace qg::quant
