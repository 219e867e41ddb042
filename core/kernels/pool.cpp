#include "core/kernels/pool.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

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

// ---- any window: the definitions ------------------------------------------------------------------------
// One output at a time, straight from the header's definition. These loops are the reference paths (the
// *_reference functions below) and also compute the outputs at the image's left and right edges, whose
// windows are clipped, for the fast paths.

// The maximum of output (oh, ow)'s window and its position dh * kernel + dw: the first maximum in row-major
// window order (strict comparison, as PyTorch), a NaN winning.
struct WindowMax {
  float value;
  int64_t position;
};
WindowMax window_max(const float* src, const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  // padding <= kernel/2 guarantees every window holds at least one image position.
  const Window w = window_at(g, oh, ow);
  int64_t best_h = w.h_begin, best_w = w.w_begin;
  float best = src[best_h * g.in_width + best_w];
  for (int64_t ih = w.h_begin; ih < w.h_end; ++ih) {
    for (int64_t iw = w.w_begin; iw < w.w_end; ++iw) {
      const float v = src[ih * g.in_width + iw];
      if (beats_max(v, best)) {
        best = v;
        best_h = ih;
        best_w = iw;
      }
    }
  }
  return {best, (best_h - w.h0) * g.kernel + (best_w - w.w0)};
}

// The sum of output (oh, ow)'s in-image window values, added row by row from 0.
float window_sum(const float* src, const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  const Window w = window_at(g, oh, ow);
  float total = 0.0f;
  for (int64_t ih = w.h_begin; ih < w.h_end; ++ih) {
    for (int64_t iw = w.w_begin; iw < w.w_end; ++iw)
      total += src[ih * g.in_width + iw];
  }
  return total;
}

template <class Index>
void max_pool_generic(const float* x, const Pool2dGeometry& g, int64_t first, int64_t end, float* y,
                      Index* argmax) {
  for (int64_t plane = first; plane < end; ++plane) {
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      for (int64_t ow = 0; ow < g.out_width; ++ow) {
        const WindowMax m = window_max(x + plane * in_plane(g), g, oh, ow);
        const int64_t o = plane * out_plane(g) + oh * g.out_width + ow;
        y[o] = m.value;
        argmax[o] = static_cast<Index>(m.position);
      }
    }
  }
}

// Output o's gradient goes to its argmax; where windows overlap, an input position collects the gradients
// of its outputs in output order.
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

void avg_pool_generic(const float* x, const Pool2dGeometry& g, int64_t first, int64_t end, float* y) {
  const float inv_area = 1.0f / static_cast<float>(g.kernel * g.kernel);  // padding counts in the divisor
  for (int64_t plane = first; plane < end; ++plane) {
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      for (int64_t ow = 0; ow < g.out_width; ++ow)
        y[plane * out_plane(g) + oh * g.out_width + ow] =
            window_sum(x + plane * in_plane(g), g, oh, ow) * inv_area;
    }
  }
}

// Output (oh, ow) spreads gradient / area over its window's in-image positions: added to an input position
// in output order.
void avg_pool_generic_backward_row(const float* dy_row, const Pool2dGeometry& g, int64_t oh, int64_t ow_begin,
                                   int64_t ow_end, float* dst) {
  const float inv_area = 1.0f / static_cast<float>(g.kernel * g.kernel);
  for (int64_t ow = ow_begin; ow < ow_end; ++ow) {
    const Window w = window_at(g, oh, ow);
    const float share = dy_row[ow] * inv_area;
    for (int64_t ih = w.h_begin; ih < w.h_end; ++ih) {
      for (int64_t iw = w.w_begin; iw < w.w_end; ++iw)
        dst[ih * g.in_width + iw] += share;
    }
  }
}

void avg_pool_generic_backward(const float* dy, const Pool2dGeometry& g, int64_t first, int64_t end,
                               float* dx) {
  for (int64_t plane = first; plane < end; ++plane) {
    float* dst = dx + plane * in_plane(g);
    std::fill(dst, dst + in_plane(g), 0.0f);
    for (int64_t oh = 0; oh < g.out_height; ++oh)
      avg_pool_generic_backward_row(dy + plane * out_plane(g) + oh * g.out_width, g, oh, 0, g.out_width, dst);
  }
}

// ---- any window: the fast paths -------------------------------------------------------------------------
// The max pool's definition spends its time on window arithmetic and on a data-dependent branch per
// value. The fast paths take one output row at a time and turn the loops inside out: for each window
// position (dh, dw), in the same row-major order, one branch-free pass over the row's outputs, reading the
// input row split by column phase (PhaseRow) so that every pass reads contiguously, which the compiler
// vectorises. Every output sees the same values in the same order as in its definition, so the results
// are bit-identical to the reference (tests/core/fast_kernels_test.cpp). Only the outputs whose window
// lies inside the image horizontally (the interior columns) are computed so; the few at the left and right
// edges go through the definitions. Rows clipped at the top or bottom just visit fewer window rows. The
// average pool's backward pass spreads its gradients the same way.

// Outputs [begin, end) of a row: those whose window columns ow*stride - padding + [0, kernel) lie inside
// [0, in_width).
struct InteriorColumns {
  int64_t begin, end;
};
InteriorColumns interior_columns(const Pool2dGeometry& g) {
  const int64_t begin = std::min(g.out_width, (g.padding + g.stride - 1) / g.stride);
  const int64_t room = g.in_width + g.padding - g.kernel;  // the largest window start that fits
  const int64_t end = room < 0 ? 0 : std::min(g.out_width, room / g.stride + 1);
  return {begin, std::max(begin, end)};
}

// The window rows of output row oh that lie inside the image: [h_begin, h_end), and its unclipped top h0.
struct WindowRows {
  int64_t h_begin, h_end, h0;
};
WindowRows window_rows(const Pool2dGeometry& g, int64_t oh) {
  const Window w = window_at(g, oh, 0);
  return {w.h_begin, w.h_end, w.h0};
}

// One window position's candidates for outputs [0, n), read contiguously from v: the running max (first
// winner kept, a NaN winning, as beats_max) and its position.
[[gnu::always_inline]] inline void max_update(const float* __restrict v, int64_t n, int32_t position,
                                              float* __restrict best, int32_t* __restrict at) {
  for (int64_t i = 0; i < n; ++i) {
    const float b = best[i];
    const int32_t wins = (v[i] > b) | (v[i] != v[i]);  // beats_max, in a form the vectoriser takes
    best[i] = wins ? v[i] : b;
    at[i] = wins ? position : at[i];
  }
}

// One input row split by column phase, so that a strided window position reads its outputs' values
// contiguously: phase r holds columns r, r + stride, r + 2 stride, ... Window position dw of output ow reads
// column ow*stride - padding + dw = (ow + q)*stride + r (q, r the floor quotient and remainder of
// dw - padding by the stride), i.e. element ow + q of phase r. Each phase has slack after the row's last
// column so that whole blocks of kLanes outputs can be read (the extra lanes are never used).
constexpr int64_t kLanes = 16;

class PhaseRow {
 public:
  explicit PhaseRow(const Pool2dGeometry& g)
      : stride_(g.stride),
        length_((g.in_width + g.stride - 1) / g.stride + g.kernel + kLanes),
        values_(static_cast<size_t>(stride_ * length_), 0.0f) {}

  void load(const float* row, int64_t width) {
    for (int64_t r = 0; r < stride_; ++r) {
      float* phase = values_.data() + r * length_;
      for (int64_t j = 0; j * stride_ + r < width; ++j)
        phase[j] = row[j * stride_ + r];
    }
  }
  // Where window position dw's value for output `ow` sits (outputs ow, ow + 1, ... follow it).
  const float* at(int64_t ow, int64_t dw, int64_t padding) const {
    const int64_t shift = dw - padding;
    const int64_t q = shift >= 0 ? shift / stride_ : -((-shift + stride_ - 1) / stride_);
    const int64_t r = shift - q * stride_;
    assert(ow + q >= 0);
    return values_.data() + r * length_ + ow + q;
  }

 private:
  int64_t stride_, length_;
  std::vector<float> values_;
};

// Spreads share[i] over the window of outputs [0, n) of a row (the avg pool's backward). An input position
// must collect its outputs' shares in output order, as in avg_pool_generic_backward_row: within one output
// row the outputs reaching a position differ in dw (larger ow, smaller dw), so dw runs backwards.
template <int64_t Stride>
[[gnu::always_inline]] inline void spread_taps(const float* __restrict share, const Pool2dGeometry& g,
                                               WindowRows r, int64_t n, float* __restrict first) {
  const int64_t s = Stride > 0 ? Stride : g.stride;
  for (int64_t ih = r.h_begin; ih < r.h_end; ++ih) {
    for (int64_t dw = g.kernel - 1; dw >= 0; --dw) {
      float* p = first + ih * g.in_width + dw;
      for (int64_t i = 0; i < n; ++i)
        p[i * s] += share[i];
    }
  }
}

QG_SIMD_CLONES void spread_taps_any(const float* share, const Pool2dGeometry& g, WindowRows r, int64_t n,
                                    float* first) {
  if (g.stride == 1) {
    spread_taps<1>(share, g, r, n, first);
  } else if (g.stride == 2) {
    spread_taps<2>(share, g, r, n, first);
  } else {
    spread_taps<0>(share, g, r, n, first);
  }
}

// Outputs [begin, begin + lanes) of one output row whose window rows are r: the running max over the window
// positions in row-major order (the first seeds it), as window_max takes them.
QG_SIMD_CLONES void max_row_interior(const float* src, const Pool2dGeometry& g, WindowRows r, int64_t begin,
                                     int64_t lanes, PhaseRow& phases, float* best, int32_t* at) {
  for (int64_t ih = r.h_begin; ih < r.h_end; ++ih) {
    phases.load(src + ih * g.in_width, g.in_width);
    for (int64_t dw = 0; dw < g.kernel; ++dw) {
      const float* v = phases.at(begin, dw, g.padding);
      const int32_t position = static_cast<int32_t>((ih - r.h0) * g.kernel + dw);
      if (ih == r.h_begin && dw == 0) {
        std::copy(v, v + lanes, best);
        std::fill(at, at + lanes, position);
      } else {
        max_update(v, lanes, position, best, at);
      }
    }
  }
}

template <class Index>
void max_pool_rows(const float* x, const Pool2dGeometry& g, int64_t first_plane, int64_t end_plane, float* y,
                   Index* argmax) {
  const InteriorColumns cols = interior_columns(g);
  const int64_t n = cols.end - cols.begin;
  const int64_t lanes = (n + kLanes - 1) / kLanes * kLanes;
  std::vector<float> best(static_cast<size_t>(lanes));
  std::vector<int32_t> at(static_cast<size_t>(lanes));
  PhaseRow phases(g);
  for (int64_t plane = first_plane; plane < end_plane; ++plane) {
    const float* src = x + plane * in_plane(g);
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      const int64_t row = plane * out_plane(g) + oh * g.out_width;
      const auto edge = [&](int64_t ow) {
        const WindowMax m = window_max(src, g, oh, ow);
        y[row + ow] = m.value;
        argmax[row + ow] = static_cast<Index>(m.position);
      };
      for (int64_t ow = 0; ow < cols.begin; ++ow)
        edge(ow);
      if (n > 0) {
        max_row_interior(src, g, window_rows(g, oh), cols.begin, lanes, phases, best.data(), at.data());
        for (int64_t i = 0; i < n; ++i) {
          y[row + cols.begin + i] = best[static_cast<size_t>(i)];
          argmax[row + cols.begin + i] = static_cast<Index>(at[static_cast<size_t>(i)]);
        }
      }
      for (int64_t ow = cols.end; ow < g.out_width; ++ow)
        edge(ow);
    }
  }
}

// Output o's gradient to its argmax: the generic backward with the window position decoded through a
// table (no division per output). Same additions in the same order.
template <class Index>
void max_pool_rows_backward(const float* dy, const Index* argmax, const Pool2dGeometry& g, int64_t first,
                            int64_t end, float* dx) {
  std::vector<int64_t> offset(static_cast<size_t>(g.kernel * g.kernel));
  for (int64_t at = 0; at < g.kernel * g.kernel; ++at)
    offset[static_cast<size_t>(at)] = (at / g.kernel) * g.in_width + at % g.kernel;
  for (int64_t plane = first; plane < end; ++plane) {
    float* dst = dx + plane * in_plane(g);
    std::fill(dst, dst + in_plane(g), 0.0f);
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      // Window corner of output (oh, 0); it may lie in the padding, but corner + offset never does.
      const int64_t corner = (oh * g.stride - g.padding) * g.in_width - g.padding;
      const int64_t row = plane * out_plane(g) + oh * g.out_width;
      for (int64_t ow = 0; ow < g.out_width; ++ow)
        dst[corner + ow * g.stride + offset[static_cast<size_t>(argmax[row + ow])]] += dy[row + ow];
    }
  }
}

void avg_pool_rows_backward(const float* dy, const Pool2dGeometry& g, int64_t first_plane, int64_t end_plane,
                            float* dx) {
  const float inv_area = 1.0f / static_cast<float>(g.kernel * g.kernel);
  const InteriorColumns cols = interior_columns(g);
  const int64_t n = cols.end - cols.begin;
  std::vector<float> share(static_cast<size_t>(n));
  for (int64_t plane = first_plane; plane < end_plane; ++plane) {
    float* dst = dx + plane * in_plane(g);
    std::fill(dst, dst + in_plane(g), 0.0f);
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      const float* grad = dy + plane * out_plane(g) + oh * g.out_width;
      avg_pool_generic_backward_row(grad, g, oh, 0, cols.begin, dst);  // left edge first: output order
      if (n > 0) {
        for (int64_t i = 0; i < n; ++i)
          share[static_cast<size_t>(i)] = grad[cols.begin + i] * inv_area;
        spread_taps_any(share.data(), g, window_rows(g, oh), n, dst + cols.begin * g.stride - g.padding);
      }
      avg_pool_generic_backward_row(grad, g, oh, cols.end, g.out_width, dst);
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

MaxPool2dResult max_pool2d_empty_result(const Pool2dGeometry& g) {
  MaxPool2dResult result;
  result.output = Tensor::empty(output_shape(g));
  const size_t outputs = static_cast<size_t>(g.batch * g.channels * out_plane(g));
  if (g.kernel <= kSmallKernel) {
    result.argmax.small.resize(outputs);
  } else {
    result.argmax.large.resize(outputs);
  }
  return result;
}

namespace {

// Runs pool(first, end, argmax) over the planes with the argmax buffer of the right index type.
template <class Pool>
void with_argmax(const Pool2dGeometry& g, MaxPool2dArgmax& argmax, const Pool& pool) {
  for_plane_ranges(g, [&](int64_t first, int64_t end) {
    if (g.kernel <= kSmallKernel) {
      pool(first, end, argmax.small.data());
    } else {
      pool(first, end, argmax.large.data());
    }
  });
}

}  // namespace

namespace {

// The fast kernels on planes [first, end): x and dx point to plane `first`'s input (gradient), y, dy and
// argmax are the whole batch's. The kernels index every array from the pointer they are given, so each
// gets its own array offset to plane `first`.
void max_pool_fast(const float* x, const Pool2dGeometry& g, int64_t first, int64_t end, float* y,
                   MaxPool2dArgmax& argmax) {
  const int64_t count = end - first, at = first * out_plane(g);
  if (g.kernel > kSmallKernel) {
    max_pool_rows(x, g, 0, count, y + at, argmax.large.data() + at);
  } else if (is_two_by_two(g)) {
    max_pool_2x2(x, g, 0, count, y + at, argmax.small.data() + at);
  } else {
    max_pool_rows(x, g, 0, count, y + at, argmax.small.data() + at);
  }
}

void max_pool_fast_backward(const float* dy, const MaxPool2dArgmax& argmax, const Pool2dGeometry& g,
                            int64_t first, int64_t end, float* dx) {
  const int64_t count = end - first, at = first * out_plane(g);
  if (g.kernel > kSmallKernel) {
    max_pool_rows_backward(dy + at, argmax.large.data() + at, g, 0, count, dx);
  } else if (is_two_by_two(g)) {
    max_pool_2x2_backward(dy + at, argmax.small.data() + at, g, 0, count, dx);
  } else {
    max_pool_rows_backward(dy + at, argmax.small.data() + at, g, 0, count, dx);
  }
}

}  // namespace

MaxPool2dResult max_pool2d_forward(const Tensor& input, const Pool2dGeometry& g) {
  const Tensor x = input.contiguous();
  MaxPool2dResult result = max_pool2d_empty_result(g);
  for_plane_ranges(g, [&](int64_t first, int64_t end) {
    max_pool_fast(x.data() + first * in_plane(g), g, first, end, result.output.data(), result.argmax);
  });
  return result;
}

void max_pool2d_forward_planes(const float* planes, const Pool2dGeometry& g, int64_t first, int64_t end,
                               float* output, MaxPool2dArgmax& argmax) {
  max_pool_fast(planes, g, first, end, output, argmax);
}

MaxPool2dResult max_pool2d_forward_reference(const Tensor& input, const Pool2dGeometry& g) {
  const Tensor x = input.contiguous();
  MaxPool2dResult result = max_pool2d_empty_result(g);
  float* y = result.output.data();
  with_argmax(g, result.argmax, [&](int64_t first, int64_t end, auto* argmax) {
    max_pool_generic(x.data(), g, first, end, y, argmax);
  });
  return result;
}

Tensor max_pool2d_backward(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                           const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::empty({g.batch, g.channels, g.in_height, g.in_width});  // every plane is written
  for_plane_ranges(g, [&](int64_t first, int64_t end) {
    max_pool_fast_backward(gy.data(), argmax, g, first, end, gx.data() + first * in_plane(g));
  });
  return gx;
}

void max_pool2d_backward_planes(const float* grad_output, const MaxPool2dArgmax& argmax,
                                const Pool2dGeometry& g, int64_t first, int64_t end, float* grad_planes) {
  max_pool_fast_backward(grad_output, argmax, g, first, end, grad_planes);
}

Tensor max_pool2d_backward_reference(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                     const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::empty({g.batch, g.channels, g.in_height, g.in_width});  // every plane is written
  for_plane_ranges(g, [&](int64_t first, int64_t end) {
    if (g.kernel > kSmallKernel) {
      max_pool_generic_backward(gy.data(), argmax.large.data(), g, first, end, gx.data());
    } else {
      max_pool_generic_backward(gy.data(), argmax.small.data(), g, first, end, gx.data());
    }
  });
  return gx;
}

// The definition is already quick here: a window sum has no data-dependent branch, and a row-at-a-time
// version like max pooling's measured no faster (it spends what it saves on copying rows).
Tensor avg_pool2d_forward(const Tensor& input, const Pool2dGeometry& g) {
  return avg_pool2d_forward_reference(input, g);
}

Tensor avg_pool2d_forward_reference(const Tensor& input, const Pool2dGeometry& g) {
  const Tensor x = input.contiguous();
  Tensor y = Tensor::empty(output_shape(g));
  for_plane_ranges(g,
                   [&](int64_t first, int64_t end) { avg_pool_generic(x.data(), g, first, end, y.data()); });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad_output, const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::empty({g.batch, g.channels, g.in_height, g.in_width});  // zeroed per plane
  for_plane_ranges(
      g, [&](int64_t first, int64_t end) { avg_pool_rows_backward(gy.data(), g, first, end, gx.data()); });
  return gx;
}

Tensor avg_pool2d_backward_reference(const Tensor& grad_output, const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::empty({g.batch, g.channels, g.in_height, g.in_width});  // zeroed per plane
  for_plane_ranges(
      g, [&](int64_t first, int64_t end) { avg_pool_generic_backward(gy.data(), g, first, end, gx.data()); });
  return gx;
}

}  // namespace qg::kernel
