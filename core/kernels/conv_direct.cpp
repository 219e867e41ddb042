// The direct convolution path (see conv_paths.h): stride 1, small receptive fields.
//
// Shifted planes. With stride 1, output (oh, ow) reads the (zero-padded) input plane at
// (oh + ki*d, ow + kj*d). Number the padded plane row-major with its width Wp, q = oh*Wp + ow: then
// tap t = (ki, kj) reads position q + o_t with the constant offset o_t = ki*d*Wp + kj*d, and a whole
// output plane is
//     E[q] = bias + sum_{ci, t} w[co, ci, t] * X_ci[q + o_t],     q in [0, L),  L = (H_out-1)*Wp + W_out,
// a few multiply-adds of contiguous arrays, which vectorise. E has Wp - W_out unused "gap" columns per
// row (the window would wrap into the next row there); they are computed and dropped.
//
// The gradients use the same trick. With G_co the output gradient spread onto the q numbering (zeros in
// the gaps):
//     dW[co, ci, t] = sum_q G_co[q] * X_ci[q + o_t]                       (a correlation per tap)
//     dX_ci[p]      = sum_{co, t} w[co, ci, t] * G_co[p - o_t]            (G_co read with zero margins)
// which is again a sum of shifted contiguous arrays. Everything for one image and group lives in a few KB.
#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>

#include "core/buffer_cache.h"
#include "core/kernels/conv_paths.h"
#include "core/simd.h"

namespace qg::kernel::conv_paths {

namespace {

constexpr int64_t kMaxPatch = 32;  // C_in/groups * kH * kW handled here (so at most 32 taps)

using DirectPlan = PaddedTaps;

// e[q] += sum_t w[t] * src[q + offsets[t]] for q in [0, n). TAPS is the tap count when known at compile
// time (the loop over taps then unrolls and the loop over q vectorises with one store per vector), or 0.
template <int TAPS>
QG_SIMD_CLONES void accumulate_taps(float* __restrict e, const float* __restrict src, const float* w,
                                    const int64_t* offsets, int64_t taps, int64_t n) {
  const int64_t count = TAPS > 0 ? TAPS : taps;
  if (TAPS == 0) {  // unknown count: one vectorised pass per tap
    for (int64_t t = 0; t < count; ++t) {
      const float wt = w[t];
      const float* s = src + offsets[t];
      for (int64_t q = 0; q < n; ++q)
        e[q] += wt * s[q];
    }
    return;
  }
  for (int64_t q = 0; q < n; ++q) {
    float acc = e[q];
    for (int64_t t = 0; t < count; ++t)
      acc += w[t] * src[q + offsets[t]];
    e[q] = acc;
  }
}

void accumulate(float* e, const float* src, const float* w, const DirectPlan& p, const int64_t* offsets,
                int64_t n) {
  switch (p.taps) {
    case 9:
      accumulate_taps<9>(e, src, w, offsets, 9, n);
      break;
    case 4:
      accumulate_taps<4>(e, src, w, offsets, 4, n);
      break;
    case 1:
      accumulate_taps<1>(e, src, w, offsets, 1, n);
      break;
    default:
      accumulate_taps<0>(e, src, w, offsets, p.taps, n);
  }
}

// sums[t] += sum_{q < n} g[q] * src[q + offsets[t]]: eight partial sums per tap (one Float8 each), so
// that every loaded g[q] serves all taps and the order of the additions is fixed by the code.
template <int TAPS>
QG_SIMD_CLONES void correlate_taps(const float* __restrict g, const float* __restrict src,
                                   const int64_t* offsets, int64_t taps, int64_t n, float* sums) {
  const int64_t count = TAPS > 0 ? TAPS : taps;
  simd::Float8 lane[TAPS > 0 ? TAPS : kMaxPatch] = {};
  int64_t q = 0;
  for (; q + 8 <= n; q += 8) {
    const simd::Float8 gq = simd::load8(g + q);
    for (int64_t t = 0; t < count; ++t)
      lane[t] += gq * simd::load8(src + offsets[t] + q);
  }
  for (int64_t t = 0; t < count; ++t) {
    float total = simd::sum8(lane[t]);
    for (int64_t r = q; r < n; ++r)
      total += g[r] * src[r + offsets[t]];
    sums[t] += total;
  }
}

void correlate(const float* g, const float* src, const DirectPlan& p, int64_t n, float* sums) {
  switch (p.taps) {
    case 9:
      correlate_taps<9>(g, src, p.offsets.data(), 9, n, sums);
      break;
    case 4:
      correlate_taps<4>(g, src, p.offsets.data(), 4, n, sums);
      break;
    case 1:
      correlate_taps<1>(g, src, p.offsets.data(), 1, n, sums);
      break;
    default:
      correlate_taps<0>(g, src, p.offsets.data(), p.taps, n, sums);
  }
}

// ---- forward: output rows computed straight from the input planes -------------------------------------
// Output (oh, ow) of channel c is bias_c + sum_{ci, t} w[c, ci, t] * X_ci[oh*Wp + ow + o_t]. A block of V
// outputs of one row is held in registers for CO output channels at once, so every input vector loaded
// serves CO channels; the row's last block overlaps the previous one when V does not divide W_out (it
// rewrites a few outputs with the same values). F is the vector type (8 or 4 floats) or float itself.

template <class F>
[[gnu::always_inline]] inline F load_as(const float* p) {
  F v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <int TAPS, int CO, class F>
[[gnu::always_inline]] inline void conv_block(const float* planes, int64_t cin, int64_t plane, const float* w,
                                              int64_t w_stride, const float* bias, const int64_t* offsets,
                                              int64_t taps, int64_t q, float* const* outs, int64_t o) {
  const int64_t count = TAPS > 0 ? TAPS : taps;
  F acc[CO];
  for (int c = 0; c < CO; ++c)
    acc[c] = F{} + bias[c];
  for (int64_t ci = 0; ci < cin; ++ci) {
    const float* src = planes + ci * plane + q;
    const float* wc = w + ci * count;
    for (int64_t t = 0; t < count; ++t) {
      const F x = load_as<F>(src + offsets[t]);
      for (int c = 0; c < CO; ++c)
        acc[c] += wc[c * w_stride + t] * x;
    }
  }
  for (int c = 0; c < CO; ++c)
    std::memcpy(outs[c] + o, &acc[c], sizeof(F));
}

// CO output planes ([H_out, W_out] each, `out_plane` apart) from `cin` padded input planes.
template <int TAPS, int CO>
QG_SIMD_CLONES void conv_rows(const float* planes, int64_t cin, const DirectPlan& p, const float* w,
                              int64_t w_stride, const float* bias, const Conv2dGeometry& g, float* out) {
  using F8 = float __attribute__((vector_size(32)));
  using F4 = float __attribute__((vector_size(16)));
  const int64_t out_w = g.out_width, out_plane = g.out_height * g.out_width;
  float* outs[CO];
  for (int c = 0; c < CO; ++c)
    outs[c] = out + c * out_plane;
  const int64_t* offsets = p.offsets.data();
  for (int64_t oh = 0; oh < g.out_height; ++oh) {
    const int64_t q = oh * p.padded_width, o = oh * out_w;
    if (out_w >= 8) {
      simd::cover_row<8>(out_w, [&](int64_t ow) {
        conv_block<TAPS, CO, F8>(planes, cin, p.plane, w, w_stride, bias, offsets, p.taps, q + ow, outs,
                                 o + ow);
      });
    } else if (out_w >= 4) {
      simd::cover_row<4>(out_w, [&](int64_t ow) {
        conv_block<TAPS, CO, F4>(planes, cin, p.plane, w, w_stride, bias, offsets, p.taps, q + ow, outs,
                                 o + ow);
      });
    } else {
      for (int64_t ow = 0; ow < out_w; ++ow)
        conv_block<TAPS, CO, float>(planes, cin, p.plane, w, w_stride, bias, offsets, p.taps, q + ow, outs,
                                    o + ow);
    }
  }
}

// Output channels [first, first + count) of one image and group, CO = 4, 2, 1 at a time.
template <int TAPS>
void conv_channels(const float* planes, int64_t cin, const DirectPlan& p, const float* weight,
                   const float* bias, const Conv2dGeometry& g, int64_t first, int64_t count, float* out) {
  const int64_t w_stride = cin * p.taps, out_plane = g.out_height * g.out_width;
  int64_t c = 0;
  for (; c + 4 <= count; c += 4) {
    conv_rows<TAPS, 4>(planes, cin, p, weight + (first + c) * w_stride, w_stride, bias + first + c, g,
                       out + c * out_plane);
  }
  for (; c + 2 <= count; c += 2) {
    conv_rows<TAPS, 2>(planes, cin, p, weight + (first + c) * w_stride, w_stride, bias + first + c, g,
                       out + c * out_plane);
  }
  for (; c < count; ++c) {
    conv_rows<TAPS, 1>(planes, cin, p, weight + (first + c) * w_stride, w_stride, bias + first + c, g,
                       out + c * out_plane);
  }
}

// Per-thread working memory, reused from call to call (it grows to the largest size seen).
struct Scratch {
  Buffer<float> zeros;     // a zero bias
  Buffer<float> planes;    // padded input planes of one group
  Buffer<float> extended;  // E, or one padded input-gradient plane
  Buffer<float> spread;    // G_co of every output channel of one group, with zero margins
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// The C_in/G input planes of `group` of one image, padded: the input itself when there is no padding,
// else a zero-bordered copy in `buffer`.
const float* group_planes(const float* image, const Conv2dGeometry& g, const DirectPlan& p, int64_t group,
                          Buffer<float>& buffer) {
  const int64_t in_plane = g.in_height * g.in_width, cin = g.in_channels_per_group();
  const float* first = image + group * cin * in_plane;
  if (g.padding == 0) return first;
  buffer.resize(static_cast<size_t>(cin * p.plane));
  std::fill(buffer.begin(), buffer.end(), 0.0f);
  for (int64_t c = 0; c < cin; ++c) {
    for (int64_t h = 0; h < g.in_height; ++h) {
      const float* src = first + c * in_plane + h * g.in_width;
      std::copy(src, src + g.in_width,
                buffer.data() + c * p.plane + (h + g.padding) * p.padded_width + g.padding);
    }
  }
  return buffer.data();
}

// Spreads output plane `plane` ([H_out, W_out]) onto the q numbering at dst[margin + q], with zeros in the
// gaps, in the `margin` floats before and up to dst[margin + p.plane + margin).
void spread_plane(const float* plane, const Conv2dGeometry& g, const DirectPlan& p, int64_t margin,
                  float* dst) {
  std::fill(dst, dst + margin + p.padded_width * g.out_height, 0.0f);
  for (int64_t oh = 0; oh < g.out_height; ++oh)
    std::copy(plane + oh * g.out_width, plane + (oh + 1) * g.out_width, dst + margin + oh * p.padded_width);
  std::fill(dst + margin + p.padded_width * g.out_height, dst + 2 * margin + p.plane, 0.0f);
}

}  // namespace

bool direct_applies(const Conv2dGeometry& g) {
  return g.stride == 1 && g.patch_size() <= kMaxPatch;
}

void direct_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                    ImageRange range, float* output) {
  assert(direct_applies(g));
  const DirectPlan p = padded_taps(g);
  Scratch& s = scratch();
  if (!bias) {  // a zero bias, so that the kernels need no branch
    s.zeros.assign(static_cast<size_t>(g.out_channels), 0.0f);
    bias = s.zeros.data();
  }
  const int64_t cin = g.in_channels_per_group(), cout = g.out_channels_per_group();
  const int64_t in_image = g.in_channels * g.in_height * g.in_width;
  const int64_t out_plane = g.out_height * g.out_width;
  for (int64_t n = range.begin; n < range.end; ++n) {
    for (int64_t group = 0; group < g.groups; ++group) {
      const float* planes = group_planes(input + n * in_image, g, p, group, s.planes);
      float* out = output + (n * g.out_channels + group * cout) * out_plane;
      if (p.taps == 9) {
        conv_channels<9>(planes, cin, p, weight, bias, g, group * cout, cout, out);
      } else {
        conv_channels<0>(planes, cin, p, weight, bias, g, group * cout, cout, out);
      }
    }
  }
}

void direct_backward(const OutputGrads& grad_output, const float* input, const float* weight,
                     const Conv2dGeometry& g, ImageRange range, const GradTargets& targets) {
  assert(direct_applies(g));
  const DirectPlan p = padded_taps(g);
  Scratch& s = scratch();
  const int64_t cin = g.in_channels_per_group(), cout = g.out_channels_per_group();
  const int64_t in_plane = g.in_height * g.in_width, in_image = g.in_channels * in_plane;
  const int64_t out_plane = g.out_height * g.out_width;
  // G_co at spread[co_in_group * stride + margin + q]; the margins let dX read G_co[p - o_t] for every p.
  const int64_t margin = p.offsets.back(), stride = 2 * margin + p.plane;
  s.spread.resize(static_cast<size_t>(cout * stride));
  s.extended.resize(static_cast<size_t>(p.plane));
  // dX reads G at p - o_t = p + (margin - o_t) - margin: offsets relative to the start of the margin.
  std::array<int64_t, kMaxPatch> reversed{};
  for (int64_t t = 0; t < p.taps; ++t)
    reversed[t] = margin - p.offsets[t];
  if (targets.weight) std::fill(targets.weight, targets.weight + g.out_channels * g.patch_size(), 0.0f);
  if (targets.bias) std::fill(targets.bias, targets.bias + g.out_channels, 0.0);

  for (int64_t n = range.begin; n < range.end; ++n) {
    const float* image_grad = grad_output.image(n);
    for (int64_t group = 0; group < g.groups; ++group) {
      const int64_t first_out = group * cout;
      for (int64_t c = 0; c < cout; ++c) {
        const float* plane = image_grad + (first_out + c) * out_plane;
        spread_plane(plane, g, p, margin, s.spread.data() + c * stride);
        if (targets.bias)
          targets.bias[first_out + c] += simd::plane_sum(plane, out_plane);  // the plane is in L1 now
      }
      if (targets.weight) {
        const float* planes = group_planes(input + n * in_image, g, p, group, s.planes);
        for (int64_t c = 0; c < cout; ++c) {
          const float* spread = s.spread.data() + c * stride + margin;
          for (int64_t ci = 0; ci < cin; ++ci)
            correlate(spread, planes + ci * p.plane, p, p.span,
                      targets.weight + ((first_out + c) * cin + ci) * p.taps);
        }
      }
      if (targets.input) {
        for (int64_t ci = 0; ci < cin; ++ci) {
          float* dst = targets.input + n * in_image + (group * cin + ci) * in_plane;
          float* d = g.padding == 0 ? dst : s.extended.data();  // the padded gradient plane
          std::fill(d, d + p.plane, 0.0f);
          for (int64_t c = 0; c < cout; ++c) {
            // For tap t, w[co, ci, t] pairs with G at p - o_t: pass the weights and offsets in tap order.
            accumulate(d, s.spread.data() + c * stride, weight + ((first_out + c) * cin + ci) * p.taps, p,
                       reversed.data(), p.plane);
          }
          if (g.padding != 0) {
            for (int64_t h = 0; h < g.in_height; ++h) {
              const float* src = d + (h + g.padding) * p.padded_width + g.padding;
              std::copy(src, src + g.in_width, dst + h * g.in_width);
            }
          }
        }
      }
    }
  }
}

}  // namespace qg::kernel::conv_paths
