#include "core/kernels/batch_norm.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/batch_reduction.h"
#include "core/buffer_cache.h"
#include "core/parallel.h"
#include "core/simd.h"

namespace qg::kernel {

namespace {

// sum (p[i] - mean)^2.
QG_SIMD_CLONES double plane_centered_squares(const float* __restrict p, int64_t n, float mean) {
  simd::Float8 lane = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const simd::Float8 d = simd::load8(p + i) - mean;
    lane += d * d;
  }
  double total = 0.0;
  for (; i < n; ++i)
    total += (p[i] - mean) * (p[i] - mean);
  return total + simd::sum8(lane);
}

// {sum g, sum g * (x - mean)}.
QG_SIMD_CLONES std::pair<double, double> plane_grad_sums(const float* __restrict g, const float* __restrict x,
                                                         int64_t n, float mean) {
  simd::Float8 grad = {}, centred = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const simd::Float8 gv = simd::load8(g + i);
    grad += gv;
    centred += gv * (simd::load8(x + i) - mean);
  }
  double total_grad = 0.0, total_centred = 0.0;
  for (; i < n; ++i) {
    total_grad += g[i];
    total_centred += g[i] * (x[i] - mean);
  }
  return {total_grad + simd::sum8(grad), total_centred + simd::sum8(centred)};
}

QG_SIMD_CLONES void plane_affine(const float* __restrict src, float* __restrict dst, int64_t n, float a,
                                 float b) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = src[i] * a + b;
}

QG_SIMD_CLONES void plane_input_grad(const float* __restrict g, const float* __restrict x,
                                     float* __restrict d, int64_t n, float mean, float scale, float a,
                                     float b) {
  for (int64_t i = 0; i < n; ++i)
    d[i] = scale * (g[i] - a - (x[i] - mean) * b);
}

// Offset of plane (n, c) in the [N, C, S] buffer.
int64_t plane_offset(const ChannelLayout& l, int64_t n, int64_t c) {
  return (n * l.channels + c) * l.spatial;
}

// body(c) for every channel, channels shared between threads (each channel's sums stay on one thread,
// in plane order, so they do not depend on the thread count).
template <class Body>
void for_each_channel(const ChannelLayout& l, const Body& body) {
  const int64_t work = l.batch * l.spatial;  // values per channel
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(work, 1));
  parallel::parallel_for(parallel::task_count(l.channels, grain), [&](int64_t task) {
    for (int64_t c = task * grain; c < std::min(l.channels, (task + 1) * grain); ++c)
      body(c);
  });
}

// body(n, c) for every plane, planes shared between threads.
template <class Body>
void for_each_plane(const ChannelLayout& l, const Body& body) {
  const int64_t planes = l.batch * l.channels;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(l.spatial, 1));
  parallel::parallel_for(parallel::task_count(planes, grain), [&](int64_t task) {
    for (int64_t p = task * grain; p < std::min(planes, (task + 1) * grain); ++p)
      body(p / l.channels, p % l.channels);
  });
}

}  // namespace

ChannelLayout channel_layout(const Shape& shape) {
  assert(shape.size() == 2 || shape.size() == 4);
  return {shape[0], shape[1], shape.size() == 4 ? shape[2] * shape[3] : 1};
}

namespace {

// Split-invariant sums (core/batch_reduction.h): plane(n, c, out) writes image n's sums for channel c (one
// or more values: out[0], out[per_channel - 1]) into `out`; returns the [C, per_channel] totals over the
// batch (halving tree over the images) and over the processes (when a cross-process sum is installed), in
// double at every level, followed by the global count of values per channel.
template <class Plane>
std::vector<double> split_invariant_sums(const ChannelLayout& l, int64_t per_channel, const Plane& plane,
                                         std::vector<double>* per_image = nullptr) {
  const int64_t row = l.channels * per_channel;
  std::vector<double> images(static_cast<size_t>(l.batch * row));
  for_each_plane(l, [&](int64_t n, int64_t c) { plane(n, c, images.data() + n * row + c * per_channel); });
  if (per_image) *per_image = images;
  batch_reduction::tree_sum(images.data(), l.batch, row);
  std::vector<double> totals(images.begin(), images.begin() + row);
  totals.push_back(static_cast<double>(l.count()));
  batch_reduction::cross_process_sum(totals);
  return totals;
}

ChannelStats split_invariant_statistics(const Tensor& x, const ChannelLayout& l) {
  const std::vector<double> sums = split_invariant_sums(l, 1, [&](int64_t n, int64_t c, double* out) {
    *out = simd::plane_sum(x.data() + plane_offset(l, n, c), l.spatial);
  });
  const double count = sums.back();
  ChannelStats stats{std::vector<float>(l.channels), std::vector<float>(l.channels),
                     static_cast<int64_t>(count)};
  for (int64_t c = 0; c < l.channels; ++c)
    stats.mean[c] = static_cast<float>(sums[c] / count);
  const std::vector<double> squares = split_invariant_sums(l, 1, [&](int64_t n, int64_t c, double* out) {
    *out = plane_centered_squares(x.data() + plane_offset(l, n, c), l.spatial, stats.mean[c]);
  });
  for (int64_t c = 0; c < l.channels; ++c)
    stats.var[c] = static_cast<float>(squares[c] / count);
  return stats;
}

}  // namespace

GradPlanes::GradPlanes(const Tensor& grad, const ChannelLayout& layout)
    : batch_(grad.data()), layout_(layout) {
  assert(grad.is_contiguous() && grad.numel() == layout.batch * layout.channels * layout.spatial);
}

GradPlanes::GradPlanes(std::function<void(int64_t, int64_t, float*)> make, const ChannelLayout& layout)
    : make_(std::move(make)), layout_(layout) {}

const float* GradPlanes::plane(int64_t n, int64_t c) const {
  if (batch_) return batch_ + plane_offset(layout_, n, c);
  thread_local Buffer<float> scratch;  // one plane, reused: it stays in L1
  scratch.resize(static_cast<size_t>(layout_.spatial));
  make_(n, c, scratch.data());
  return scratch.data();
}

ChannelStats channel_statistics(const Tensor& x, const ChannelLayout& l) {
  assert(x.is_contiguous());
  if (!l.has_batch_statistics()) {
    throw std::invalid_argument("batch statistics need more than one value per channel, but the batch " +
                                to_string(x.shape()) + " has " + std::to_string(l.count()));
  }
  if (batch_reduction::split_invariant()) return split_invariant_statistics(x, l);
  ChannelStats stats{std::vector<float>(l.channels), std::vector<float>(l.channels), l.count()};
  const double count = static_cast<double>(l.count());
  for_each_channel(l, [&](int64_t c) {
    double total = 0.0;
    for (int64_t n = 0; n < l.batch; ++n)
      total += simd::plane_sum(x.data() + plane_offset(l, n, c), l.spatial);
    const float mean = static_cast<float>(total / count);
    double squares = 0.0;  // two passes: sum((x - mean)^2) does not cancel like sum(x^2) - M mean^2
    for (int64_t n = 0; n < l.batch; ++n)
      squares += plane_centered_squares(x.data() + plane_offset(l, n, c), l.spatial, mean);
    stats.mean[c] = mean;
    stats.var[c] = static_cast<float>(squares / count);
  });
  return stats;
}

void channel_affine_plane(const float* src, float* dst, int64_t count, float scale, float shift) {
  plane_affine(src, dst, count, scale, shift);
}

Tensor channel_affine(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& shift,
                      const ChannelLayout& l) {
  assert(x.is_contiguous());
  Tensor y = Tensor::empty(x.shape());
  for_each_plane(l, [&](int64_t n, int64_t c) {
    plane_affine(x.data() + plane_offset(l, n, c), y.data() + plane_offset(l, n, c), l.spatial, scale[c],
                 shift[c]);
  });
  return y;
}

ChannelGradSums channel_grad_sums(const GradPlanes& grad, const Tensor& x, const std::vector<float>& mean,
                                  const ChannelLayout& l) {
  assert(x.is_contiguous());
  if (batch_reduction::split_invariant()) {
    std::vector<double> per_image;
    const std::vector<double> totals = split_invariant_sums(
        l, 2,
        [&](int64_t n, int64_t c, double* out) {
          const auto [g, centred] =
              plane_grad_sums(grad.plane(n, c), x.data() + plane_offset(l, n, c), l.spatial, mean[c]);
          out[0] = g;
          out[1] = centred;
        },
        &per_image);
    ChannelGradSums sums{std::vector<double>(l.channels), std::vector<double>(l.channels),
                         static_cast<int64_t>(totals.back()), std::vector<double>(per_image.size() / 2),
                         std::vector<double>(per_image.size() / 2)};
    for (int64_t c = 0; c < l.channels; ++c) {
      sums.grad[c] = totals[2 * c];
      sums.grad_centered[c] = totals[2 * c + 1];
    }
    for (size_t i = 0; i < sums.image_grad.size(); ++i) {
      sums.image_grad[i] = per_image[2 * i];
      sums.image_grad_centered[i] = per_image[2 * i + 1];
    }
    return sums;
  }
  ChannelGradSums sums{
      std::vector<double>(l.channels, 0.0), std::vector<double>(l.channels, 0.0), l.count(), {}, {}};
  for_each_channel(l, [&](int64_t c) {
    for (int64_t n = 0; n < l.batch; ++n) {
      const auto [g, centred] =
          plane_grad_sums(grad.plane(n, c), x.data() + plane_offset(l, n, c), l.spatial, mean[c]);
      sums.grad[c] += g;
      sums.grad_centered[c] += centred;
    }
  });
  return sums;
}

Tensor channel_input_grad(const GradPlanes& grad, const Tensor& x, const std::vector<float>& mean,
                          const std::vector<float>& scale, const std::vector<float>& a,
                          const std::vector<float>& b, const ChannelLayout& l) {
  assert(x.is_contiguous());
  Tensor dx = Tensor::empty(x.shape());
  for_each_plane(l, [&](int64_t n, int64_t c) {
    const int64_t at = plane_offset(l, n, c);
    plane_input_grad(grad.plane(n, c), x.data() + at, dx.data() + at, l.spatial, mean[c], scale[c], a[c],
                     b[c]);
  });
  return dx;
}

void update_running_statistics(Tensor& running_mean, Tensor& running_var, const ChannelStats& batch,
                               int64_t count, float momentum) {
  assert(running_mean.is_contiguous() && running_var.is_contiguous());
  const float unbias = count > 1 ? static_cast<float>(count) / static_cast<float>(count - 1) : 1.0f;
  for (size_t c = 0; c < batch.mean.size(); ++c) {
    running_mean.data()[c] = (1.0f - momentum) * running_mean.data()[c] + momentum * batch.mean[c];
    running_var.data()[c] = (1.0f - momentum) * running_var.data()[c] + momentum * batch.var[c] * unbias;
  }
}

}  // namespace qg::kernel
