#include "core/kernels/batch_norm.h"

#include <cassert>

namespace qg::kernel {

namespace {

// sum_{i < n} term(i) with eight independent float accumulators: no loop-carried dependency on a single
// register, so the loop vectorises, and each partial sum stays short (one plane) before going to double.
template <class Term>
double lane_sum(int64_t n, Term term) {
  constexpr int64_t kLanes = 8;
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j)
      lane[j] += term(i + j);
  }
  double total = 0.0;
  for (; i < n; ++i)
    total += term(i);
  for (float partial : lane)
    total += partial;
  return total;
}

// Offset of plane (n, c) in the [N, C, S] buffer.
int64_t plane_offset(const ChannelLayout& l, int64_t n, int64_t c) {
  return (n * l.channels + c) * l.spatial;
}

}  // namespace

ChannelLayout channel_layout(const Shape& shape) {
  assert(shape.size() == 2 || shape.size() == 4);
  return {shape[0], shape[1], shape.size() == 4 ? shape[2] * shape[3] : 1};
}

ChannelStats channel_statistics(const Tensor& x, const ChannelLayout& l) {
  assert(x.is_contiguous());
  ChannelStats stats{std::vector<float>(l.channels), std::vector<float>(l.channels)};
  const double count = static_cast<double>(l.count());
  for (int64_t c = 0; c < l.channels; ++c) {
    double total = 0.0;
    for (int64_t n = 0; n < l.batch; ++n) {
      const float* p = x.data() + plane_offset(l, n, c);
      total += lane_sum(l.spatial, [p](int64_t i) { return p[i]; });
    }
    const float mean = static_cast<float>(total / count);
    double squares = 0.0;  // two passes: sum((x - mean)^2) does not cancel like sum(x^2) - M mean^2
    for (int64_t n = 0; n < l.batch; ++n) {
      const float* p = x.data() + plane_offset(l, n, c);
      squares += lane_sum(l.spatial, [p, mean](int64_t i) { return (p[i] - mean) * (p[i] - mean); });
    }
    stats.mean[c] = mean;
    stats.var[c] = static_cast<float>(squares / count);
  }
  return stats;
}

Tensor channel_affine(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& shift,
                      const ChannelLayout& l) {
  assert(x.is_contiguous());
  Tensor y = Tensor::empty(x.shape());
  for (int64_t n = 0; n < l.batch; ++n) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float* src = x.data() + plane_offset(l, n, c);
      float* dst = y.data() + plane_offset(l, n, c);
      const float a = scale[c], b = shift[c];
      for (int64_t i = 0; i < l.spatial; ++i)
        dst[i] = src[i] * a + b;
    }
  }
  return y;
}

ChannelGradSums channel_grad_sums(const Tensor& grad, const Tensor& x, const std::vector<float>& mean,
                                  const ChannelLayout& l) {
  assert(grad.is_contiguous() && x.is_contiguous());
  ChannelGradSums sums{std::vector<double>(l.channels, 0.0), std::vector<double>(l.channels, 0.0)};
  for (int64_t n = 0; n < l.batch; ++n) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float* g = grad.data() + plane_offset(l, n, c);
      const float* p = x.data() + plane_offset(l, n, c);
      const float mu = mean[c];
      sums.grad[c] += lane_sum(l.spatial, [g](int64_t i) { return g[i]; });
      sums.grad_centered[c] += lane_sum(l.spatial, [g, p, mu](int64_t i) { return g[i] * (p[i] - mu); });
    }
  }
  return sums;
}

Tensor channel_input_grad(const Tensor& grad, const Tensor& x, const std::vector<float>& mean,
                          const std::vector<float>& scale, const std::vector<float>& a,
                          const std::vector<float>& b, const ChannelLayout& l) {
  assert(grad.is_contiguous() && x.is_contiguous());
  Tensor dx = Tensor::empty(x.shape());
  for (int64_t n = 0; n < l.batch; ++n) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const float* g = grad.data() + plane_offset(l, n, c);
      const float* p = x.data() + plane_offset(l, n, c);
      float* d = dx.data() + plane_offset(l, n, c);
      const float mu = mean[c], s = scale[c], ac = a[c], bc = b[c];
      for (int64_t i = 0; i < l.spatial; ++i)
        d[i] = s * (g[i] - ac - (p[i] - mu) * bc);
    }
  }
  return dx;
}

}  // namespace qg::kernel
