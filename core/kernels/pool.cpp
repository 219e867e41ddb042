#include "core/kernels/pool.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/kernels/nan_order.h"
#include "core/parallel.h"
#include "core/simd.h"
#include "util/window.h"

namespace qg::kernel {

namespace {

// The part of a pooling window that lies inside the image: rows [h_begin, h_end), columns [w_begin, w_end),
// and the window's (unclipped) top-left corner (h0, w0).
struct Window {
  int64_t h_begin, h_end, w_begin, w_end;
  int64_t h0, w0;
};

Window window_at(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
  return {std::max<int64_t>(h0, 0),
          std::min(h0 + g.kernel, g.in_height),
          std::max<int64_t>(w0, 0),
          std::min(w0 + g.kernel, g.in_width),
          h0,
          w0};
}

Shape output_shape(const Pool2dGeometry& g) {
  return {g.batch, g.channels, g.out_height, g.out_width};
}

int64_t in_plane(const Pool2dGeometry& g) {
  return g.in_height * g.in_width;
}
int64_t out_plane(const Pool2dGeometry& g) {
  return g.out_height * g.out_width;
}

// Runs body(first_plane, end_plane) over the N*C planes, in tasks of about 64 KB of input each.
template <class Body>
void for_plane_ranges(const Pool2dGeometry& g, const Body& body) {
  const int64_t planes = g.batch * g.channels;
  const int64_t grain = std::max<int64_t>(1, (int64_t{16} << 10) / std::max<int64_t>(in_plane(g), 1));
  parallel::parallel_for(parallel::task_count(planes, grain),
                         [&](int64_t task) { body(task * grain, std::min(planes, (task + 1) * grain)); });
}

constexpr bool is_two_by_two(const Pool2dGeometry& g) {
  return g.kernel == 2 && g.stride == 2 && g.padding == 0;
}
constexpr int64_t kSmallKernel = 16;  // windows of at most 256 positions: one-byte argmax

// ---- kernel 2, stride 2, padding 0 ------------------------------------------------------------------------
// Output (oh, ow) is the first maximum of top[2ow], top[2ow+1], bottom[2ow], bottom[2ow+1] (top and bottom
// the input rows 2oh and 2oh+1), NaN winning. The row is computed V outputs at a time with GCC vectors:
// even and odd input columns are separated with a shuffle, then four compare-and-selects pick the winner
// and its position 0..3. A row whose width is not a multiple of V ends with one more block of V that
// overlaps the previous one (rewriting a few outputs with the same values); rows narrower than 4 are
// scalar.

template <int V>
struct Lanes;
template <>
struct Lanes<8> {
  using F = float __attribute__((vector_size(32)));
  using I = int32_t __attribute__((vector_size(32)));
  using Bytes = uint8_t __attribute__((vector_size(32)));
  using Small = uint8_t __attribute__((vector_size(8)));
  static F evens(F a, F b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14); }
  static F odds(F a, F b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15); }
  static F low_pairs(F even, F odd) { return __builtin_shufflevector(even, odd, 0, 8, 1, 9, 2, 10, 3, 11); }
  static F high_pairs(F even, F odd) {
    return __builtin_shufflevector(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
  }
  static Small low_bytes(I v) {
    const Bytes b = std::bit_cast<Bytes>(v);
    return __builtin_shufflevector(b, b, 0, 4, 8, 12, 16, 20, 24, 28);
  }
  static I widen(Small v) { return __builtin_convertvector(v, I); }
};
template <>
struct Lanes<4> {
  using F = float __attribute__((vector_size(16)));
  using I = int32_t __attribute__((vector_size(16)));
  using Bytes = uint8_t __attribute__((vector_size(16)));
  using Small = uint8_t __attribute__((vector_size(4)));
  static F evens(F a, F b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6); }
  static F odds(F a, F b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7); }
  static F low_pairs(F even, F odd) { return __builtin_shufflevector(even, odd, 0, 4, 1, 5); }
  static F high_pairs(F even, F odd) { return __builtin_shufflevector(even, odd, 2, 6, 3, 7); }
  static Small low_bytes(I v) {
    const Bytes b = std::bit_cast<Bytes>(v);
    return __builtin_shufflevector(b, b, 0, 4, 8, 12);
  }
  static I widen(Small v) { return __builtin_convertvector(v, I); }
};

template <class T>
T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store(void* p, const T& v) {
  std::memcpy(p, &v, sizeof v);
}

// Outputs [ow, ow + V) of one row.
template <int V>
[[gnu::always_inline]] inline void pool_block_2x2(const float* top, const float* bottom, int64_t ow,
                                                  float* out, uint8_t* argmax) {
  using L = Lanes<V>;
  using F = typename L::F;
  using I = typename L::I;
  const F t0 = load<F>(top + 2 * ow), t1 = load<F>(top + 2 * ow + V);
  const F b0 = load<F>(bottom + 2 * ow), b1 = load<F>(bottom + 2 * ow + V);
  const F candidates[3] = {L::odds(t0, t1), L::evens(b0, b1), L::odds(b0, b1)};
  F best = L::evens(t0, t1);
  I at = I{} + 0;
  for (int k = 0; k < 3; ++k) {
    const I wins = (candidates[k] > best) | (candidates[k] != candidates[k]);  // beats_max, lane-wise
    best = wins ? candidates[k] : best;
    at = wins ? I{} + (k + 1) : at;
  }
  store(out + ow, best);
  store(argmax + ow, L::low_bytes(at));
}

// Its backward for outputs [ow, ow + V): each 2x2 block gets the gradient at its argmax, 0 elsewhere.
template <int V>
[[gnu::always_inline]] inline void unpool_block_2x2(const float* grad, const uint8_t* argmax, int64_t ow,
                                                    float* top, float* bottom) {
  using L = Lanes<V>;
  using F = typename L::F;
  using I = typename L::I;
  const F g = load<F>(grad + ow);
  const I at = L::widen(load<typename L::Small>(argmax + ow));
  const F zero = F{} + 0.0f;
  const F top_left = at == 0 ? g : zero, top_right = at == 1 ? g : zero;
  const F bottom_left = at == 2 ? g : zero, bottom_right = at == 3 ? g : zero;
  store(top + 2 * ow, L::low_pairs(top_left, top_right));
  store(top + 2 * ow + V, L::high_pairs(top_left, top_right));
  store(bottom + 2 * ow, L::low_pairs(bottom_left, bottom_right));
  store(bottom + 2 * ow + V, L::high_pairs(bottom_left, bottom_right));
}

QG_SIMD_CLONES void max_pool_2x2(const float* __restrict x, const Pool2dGeometry& g, int64_t first,
                                 int64_t end, float* __restrict y, uint8_t* __restrict argmax) {
  const int64_t width = g.in_width, out_w = g.out_width;
  for (int64_t plane = first; plane < end; ++plane) {
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      const float* top = x + plane * in_plane(g) + 2 * oh * width;
      const float* bottom = top + width;
      float* out = y + plane * out_plane(g) + oh * out_w;
      uint8_t* arg = argmax + plane * out_plane(g) + oh * out_w;
      if (out_w >= 8) {
        simd::cover_row<8>(out_w, [&](int64_t ow) { pool_block_2x2<8>(top, bottom, ow, out, arg); });
      } else if (out_w >= 4) {
        simd::cover_row<4>(out_w, [&](int64_t ow) { pool_block_2x2<4>(top, bottom, ow, out, arg); });
      } else {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const float candidates[4] = {top[2 * ow], top[2 * ow + 1], bottom[2 * ow], bottom[2 * ow + 1]};
          uint8_t at = 0;
          for (uint8_t k = 1; k < 4; ++k) {
            if (beats_max(candidates[k], candidates[at])) at = k;
          }
          out[ow] = candidates[at];
          arg[ow] = at;
        }
      }
    }
  }
}

// Every element of dx is written once: the 2x2 blocks, then a last row or column outside every window
// (odd sizes) gets 0.
QG_SIMD_CLONES void max_pool_2x2_backward(const float* __restrict dy, const uint8_t* __restrict argmax,
                                          const Pool2dGeometry& g, int64_t first, int64_t end,
                                          float* __restrict dx) {
  const int64_t width = g.in_width, out_w = g.out_width;
  for (int64_t plane = first; plane < end; ++plane) {
    float* dst = dx + plane * in_plane(g);
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      float* top = dst + 2 * oh * width;
      float* bottom = top + width;
      const float* grad = dy + plane * out_plane(g) + oh * out_w;
      const uint8_t* arg = argmax + plane * out_plane(g) + oh * out_w;
      if (out_w >= 8) {
        simd::cover_row<8>(out_w, [&](int64_t ow) { unpool_block_2x2<8>(grad, arg, ow, top, bottom); });
      } else if (out_w >= 4) {
        simd::cover_row<4>(out_w, [&](int64_t ow) { unpool_block_2x2<4>(grad, arg, ow, top, bottom); });
      } else {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          float* block[4] = {top + 2 * ow, top + 2 * ow + 1, bottom + 2 * ow, bottom + 2 * ow + 1};
          for (uint8_t k = 0; k < 4; ++k)
            *block[k] = arg[ow] == k ? grad[ow] : 0.0f;
        }
      }
      for (int64_t w = 2 * out_w; w < width; ++w)
        top[w] = bottom[w] = 0.0f;
    }
    std::fill(dst + 2 * g.out_height * width, dst + in_plane(g), 0.0f);
  }
}

// Any window: the first maximum of each window (NaN wins), as its position dh * kernel + dw.
template <class Index>
void max_pool_generic(const float* x, const Pool2dGeometry& g, int64_t first, int64_t end, float* y,
                      Index* argmax) {
  for (int64_t plane = first; plane < end; ++plane) {
    const float* src = x + plane * in_plane(g);
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      for (int64_t ow = 0; ow < g.out_width; ++ow) {
        // padding <= kernel/2 guarantees every window holds at least one image position.
        const Window w = window_at(g, oh, ow);
        int64_t best_h = w.h_begin, best_w = w.w_begin;
        float best = src[best_h * g.in_width + best_w];
        for (int64_t ih = w.h_begin; ih < w.h_end; ++ih) {
          for (int64_t iw = w.w_begin; iw < w.w_end; ++iw) {
            const float v = src[ih * g.in_width + iw];
            if (beats_max(v, best)) {  // strict: the first of equal maxima wins (as PyTorch)
              best = v;
              best_h = ih;
              best_w = iw;
            }
          }
        }
        const int64_t o = plane * out_plane(g) + oh * g.out_width + ow;
        y[o] = best;
        argmax[o] = static_cast<Index>((best_h - w.h0) * g.kernel + (best_w - w.w0));
      }
    }
  }
}

template <class Index>
void max_pool_generic_backward(const float* dy, const Index* argmax, const Pool2dGeometry& g, int64_t first,
                               int64_t end, float* dx) {
  for (int64_t plane = first; plane < end; ++plane) {
    float* dst = dx + plane * in_plane(g);
    std::fill(dst, dst + in_plane(g), 0.0f);
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      for (int64_t ow = 0; ow < g.out_width; ++ow) {
        const int64_t o = plane * out_plane(g) + oh * g.out_width + ow;
        const int64_t at = argmax[o];
        const int64_t ih = oh * g.stride - g.padding + at / g.kernel;
        const int64_t iw = ow * g.stride - g.padding + at % g.kernel;
        dst[ih * g.in_width + iw] += dy[o];
      }
    }
  }
}

}  // namespace

Pool2dGeometry pool2d_geometry(const Shape& input, int64_t kernel, int64_t stride, int64_t padding) {
  assert(input.size() == 4 && kernel >= 1 && stride >= 1 && padding >= 0);
  Pool2dGeometry g;
  g.batch = input[0];
  g.channels = input[1];
  g.in_height = input[2];
  g.in_width = input[3];
  g.kernel = kernel;
  g.stride = stride;
  g.padding = padding;
  g.out_height = util::window_output_size(g.in_height, kernel, stride, padding);
  g.out_width = util::window_output_size(g.in_width, kernel, stride, padding);
  assert(g.out_height >= 1 && g.out_width >= 1);
  assert(g.in_height * g.in_width <= std::numeric_limits<int32_t>::max());
  return g;
}

MaxPool2dResult max_pool2d_forward(const Tensor& input, const Pool2dGeometry& g) {
  const Tensor x = input.contiguous();
  MaxPool2dResult result;
  result.output = Tensor::empty(output_shape(g));
  const size_t outputs = static_cast<size_t>(g.batch * g.channels * out_plane(g));
  float* y = result.output.data();
  if (g.kernel <= kSmallKernel) {
    result.argmax.small.resize(outputs);
    uint8_t* argmax = result.argmax.small.data();
    for_plane_ranges(g, [&](int64_t first, int64_t end) {
      if (is_two_by_two(g)) {
        max_pool_2x2(x.data(), g, first, end, y, argmax);
      } else {
        max_pool_generic(x.data(), g, first, end, y, argmax);
      }
    });
  } else {
    result.argmax.large.resize(outputs);
    int32_t* argmax = result.argmax.large.data();
    for_plane_ranges(
        g, [&](int64_t first, int64_t end) { max_pool_generic(x.data(), g, first, end, y, argmax); });
  }
  return result;
}

Tensor max_pool2d_backward(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                           const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::empty({g.batch, g.channels, g.in_height, g.in_width});  // every plane is written
  for_plane_ranges(g, [&](int64_t first, int64_t end) {
    if (g.kernel > kSmallKernel) {
      max_pool_generic_backward(gy.data(), argmax.large.data(), g, first, end, gx.data());
    } else if (is_two_by_two(g)) {
      max_pool_2x2_backward(gy.data(), argmax.small.data(), g, first, end, gx.data());
    } else {
      max_pool_generic_backward(gy.data(), argmax.small.data(), g, first, end, gx.data());
    }
  });
  return gx;
}

Tensor avg_pool2d_forward(const Tensor& input, const Pool2dGeometry& g) {
  const Tensor x = input.contiguous();
  Tensor y = Tensor::empty(output_shape(g));
  const float inv_area = 1.0f / static_cast<float>(g.kernel * g.kernel);  // padding counts in the divisor
  for_plane_ranges(g, [&](int64_t first, int64_t end) {
    for (int64_t plane = first; plane < end; ++plane) {
      const float* src = x.data() + plane * in_plane(g);
      float* dst = y.data() + plane * out_plane(g);
      for (int64_t oh = 0; oh < g.out_height; ++oh) {
        for (int64_t ow = 0; ow < g.out_width; ++ow) {
          const Window w = window_at(g, oh, ow);
          float total = 0.0f;
          for (int64_t ih = w.h_begin; ih < w.h_end; ++ih) {
            for (int64_t iw = w.w_begin; iw < w.w_end; ++iw)
              total += src[ih * g.in_width + iw];
          }
          dst[oh * g.out_width + ow] = total * inv_area;
        }
      }
    }
  });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad_output, const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::empty({g.batch, g.channels, g.in_height, g.in_width});  // zeroed per plane below
  const float inv_area = 1.0f / static_cast<float>(g.kernel * g.kernel);
  for_plane_ranges(g, [&](int64_t first, int64_t end) {
    for (int64_t plane = first; plane < end; ++plane) {
      const float* src = gy.data() + plane * out_plane(g);
      float* dst = gx.data() + plane * in_plane(g);
      std::fill(dst, dst + in_plane(g), 0.0f);
      for (int64_t oh = 0; oh < g.out_height; ++oh) {
        for (int64_t ow = 0; ow < g.out_width; ++ow) {
          const Window w = window_at(g, oh, ow);
          const float share = src[oh * g.out_width + ow] * inv_area;
          for (int64_t ih = w.h_begin; ih < w.h_end; ++ih) {
            for (int64_t iw = w.w_begin; iw < w.w_end; ++iw)
              dst[ih * g.in_width + iw] += share;
          }
        }
      }
    }
  });
  return gx;
}

}  // namespace qg::kernel
