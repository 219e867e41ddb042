// The shifted-GEMM convolution path (see conv_paths.h): stride 1, large receptive fields.
//
// It uses the numbering of conv_direct.cpp: q = oh*Wp + ow over the (zero-padded) input plane of width Wp,
// where kernel tap t = (ki, kj) of output q reads input position q + o_t, o_t = (ki*Wp + kj)*dilation. For
// one tap, "every output channel, every output position" is then a plain matrix product whose right-hand
// side is the input planes themselves, shifted by o_t:
//
//     E [C_out/G, L] += W_t [C_out/G, C_in/G] x X[:, o_t : o_t + L]          (X rows = input planes)
//
// one GEMM per tap, with no im2col copy at all (the rows of X are read in place, ldb = the plane size).
// E has Wp - W_out unused "gap" columns per row, dropped when E is copied to the output. The gradients
// are the same sums read the other way round, with G the output gradient spread onto the q numbering
// (zeros in the gaps):
//
//     dW_t [C_out/G, C_in/G]  += G [C_out/G, L] x X[:, o_t : o_t + L]^T
//     dX[:, o_t : o_t + L]    += W_t^T [C_in/G, C_out/G] x G [C_out/G, L]     (taps added one after another)
#include <algorithm>
#include <cassert>
#include <limits>
#include <vector>

#include "core/blas.h"
#include "core/buffer_cache.h"
#include "core/kernels/conv_paths.h"
#include "core/simd.h"

namespace qg::kernel::conv_paths {

namespace {

using ShiftedPlan = PaddedTaps;

int as_blas_int(int64_t value) {
  assert(value <= std::numeric_limits<int>::max());
  return static_cast<int>(value);
}

struct Scratch {
  Buffer<float> padded;      // one image's padded input planes (when padding > 0)
  Buffer<float> extended;    // E, or G: [C_out, L]
  Buffer<float> weights;     // W_t for every tap: [taps][C_out][C_in/G]
  Buffer<float> tap_grads;   // dW_t for every tap, summed over the slice
  Buffer<float> grad_input;  // one image's padded input gradient (when padding > 0)
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// W_t[t][co][ci] = weight[co][ci][t].
void split_taps(const float* weight, const Conv2dGeometry& g, const ShiftedPlan& p, Buffer<float>& out) {
  const int64_t cin = g.in_channels_per_group();
  out.resize(static_cast<size_t>(p.taps * g.out_channels * cin));
  for (int64_t co = 0; co < g.out_channels; ++co) {
    for (int64_t ci = 0; ci < cin; ++ci) {
      for (int64_t t = 0; t < p.taps; ++t)
        out[static_cast<size_t>((t * g.out_channels + co) * cin + ci)] = weight[(co * cin + ci) * p.taps + t];
    }
  }
}

// The input planes of one image on the padded grid: the input itself, or a zero-bordered copy.
const float* padded_planes(const float* image, const Conv2dGeometry& g, const ShiftedPlan& p,
                           Buffer<float>& buffer) {
  if (g.padding == 0) return image;
  buffer.assign(static_cast<size_t>(g.in_channels * p.plane), 0.0f);
  for (int64_t c = 0; c < g.in_channels; ++c) {
    for (int64_t h = 0; h < g.in_height; ++h) {
      const float* src = image + (c * g.in_height + h) * g.in_width;
      std::copy(src, src + g.in_width,
                buffer.data() + c * p.plane + (h + g.padding) * p.padded_width + g.padding);
    }
  }
  return buffer.data();
}

}  // namespace

bool shifted_applies(const Conv2dGeometry& g) {
  return g.stride == 1;
}

void shifted_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                     ImageRange range, float* output) {
  assert(shifted_applies(g));
  const ShiftedPlan p = padded_taps(g);
  Scratch& s = scratch();
  split_taps(weight, g, p, s.weights);
  s.extended.resize(static_cast<size_t>(g.out_channels * p.span));
  const int64_t cin = g.in_channels_per_group(), cout = g.out_channels_per_group();
  const int64_t in_image = g.in_channels * g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
  for (int64_t n = range.begin; n < range.end; ++n) {
    const float* x = padded_planes(input + n * in_image, g, p, s.padded);
    for (int64_t group = 0; group < g.groups; ++group) {
      for (int64_t t = 0; t < p.taps; ++t) {
        blas::gemm(false, false, as_blas_int(cout), as_blas_int(p.span), as_blas_int(cin), 1.0f,
                   s.weights.data() + (t * g.out_channels + group * cout) * cin, as_blas_int(cin),
                   x + group * cin * p.plane + p.offsets[static_cast<size_t>(t)], as_blas_int(p.plane),
                   t == 0 ? 0.0f : 1.0f, s.extended.data() + group * cout * p.span, as_blas_int(p.span));
      }
    }
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float b = bias ? bias[co] : 0.0f;
      const float* e = s.extended.data() + co * p.span;
      float* out = output + (n * g.out_channels + co) * out_plane;
      for (int64_t oh = 0; oh < g.out_height; ++oh) {
        for (int64_t ow = 0; ow < g.out_width; ++ow)
          out[oh * g.out_width + ow] = e[oh * p.padded_width + ow] + b;
      }
    }
  }
}

void shifted_backward(const OutputGrads& grad_output, const float* input, const float* weight,
                      const Conv2dGeometry& g, ImageRange range, const GradTargets& targets) {
  assert(shifted_applies(g));
  const ShiftedPlan p = padded_taps(g);
  Scratch& s = scratch();
  split_taps(weight, g, p, s.weights);
  const int64_t cin = g.in_channels_per_group(), cout = g.out_channels_per_group();
  const int64_t in_plane = g.in_height * g.in_width, in_image = g.in_channels * in_plane;
  const int64_t out_plane = g.out_height * g.out_width;
  const int64_t tap_size = g.out_channels * cin;
  s.extended.resize(static_cast<size_t>(g.out_channels * p.span));
  if (targets.weight) s.tap_grads.assign(static_cast<size_t>(p.taps * tap_size), 0.0f);
  if (targets.bias) std::fill(targets.bias, targets.bias + g.out_channels, 0.0);
  for (int64_t n = range.begin; n < range.end; ++n) {
    // G: the output gradient on the q numbering, zeros in the gaps.
    float* spread = s.extended.data();
    const float* image_grad = grad_output.image(n);
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float* dy = image_grad + co * out_plane;
      float* row = spread + co * p.span;
      std::fill(row, row + p.span, 0.0f);
      for (int64_t oh = 0; oh < g.out_height; ++oh) {
        for (int64_t ow = 0; ow < g.out_width; ++ow)
          row[oh * p.padded_width + ow] = dy[oh * g.out_width + ow];
      }
      if (targets.bias) targets.bias[co] += simd::plane_sum(dy, out_plane);
    }
    const float* x = padded_planes(input + n * in_image, g, p, s.padded);
    if (targets.weight) {
      for (int64_t group = 0; group < g.groups; ++group) {
        for (int64_t t = 0; t < p.taps; ++t) {
          blas::gemm(false, true, as_blas_int(cout), as_blas_int(cin), as_blas_int(p.span), 1.0f,
                     spread + group * cout * p.span, as_blas_int(p.span),
                     x + group * cin * p.plane + p.offsets[static_cast<size_t>(t)], as_blas_int(p.plane),
                     1.0f, s.tap_grads.data() + t * tap_size + group * cout * cin, as_blas_int(cin));
        }
      }
    }
    if (targets.input) {
      float* dx = targets.input + n * in_image;
      float* dxp = dx;  // the gradient on the padded grid
      if (g.padding != 0) {
        s.grad_input.assign(static_cast<size_t>(g.in_channels * p.plane), 0.0f);
        dxp = s.grad_input.data();
      } else {
        std::fill(dx, dx + in_image, 0.0f);
      }
      for (int64_t group = 0; group < g.groups; ++group) {
        for (int64_t t = 0; t < p.taps; ++t) {
          blas::gemm(true, false, as_blas_int(cin), as_blas_int(p.span), as_blas_int(cout), 1.0f,
                     s.weights.data() + (t * g.out_channels + group * cout) * cin, as_blas_int(cin),
                     spread + group * cout * p.span, as_blas_int(p.span), 1.0f,
                     dxp + group * cin * p.plane + p.offsets[static_cast<size_t>(t)], as_blas_int(p.plane));
        }
      }
      if (g.padding != 0) {
        for (int64_t c = 0; c < g.in_channels; ++c) {
          for (int64_t h = 0; h < g.in_height; ++h) {
            const float* src = dxp + c * p.plane + (h + g.padding) * p.padded_width + g.padding;
            std::copy(src, src + g.in_width, dx + c * in_plane + h * g.in_width);
          }
        }
      }
    }
  }
  if (targets.weight) {  // dW_t[t][co][ci] -> dW[co][ci][t]
    for (int64_t co = 0; co < g.out_channels; ++co) {
      for (int64_t ci = 0; ci < cin; ++ci) {
        for (int64_t t = 0; t < p.taps; ++t) {
          targets.weight[(co * cin + ci) * p.taps + t] =
              s.tap_grads[static_cast<size_t>(t * tap_size + co * cin + ci)];
        }
      }
    }
  }
}

}  // namespace qg::kernel::conv_paths
