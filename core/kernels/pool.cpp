#include "core/kernels/pool.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace qg::kernel {

namespace {

// The part of a pooling window that lies inside the image: rows [h_begin, h_end), columns [w_begin, w_end).
struct Window {
  int64_t h_begin, h_end, w_begin, w_end;
};

Window window_at(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
  return {std::max<int64_t>(h0, 0), std::min(h0 + g.kernel, g.in_height), std::max<int64_t>(w0, 0),
          std::min(w0 + g.kernel, g.in_width)};
}

Shape output_shape(const Pool2dGeometry& g) {
  return {g.batch, g.channels, g.out_height, g.out_width};
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
  g.out_height = (g.in_height + 2 * padding - kernel) / stride + 1;
  g.out_width = (g.in_width + 2 * padding - kernel) / stride + 1;
  assert(g.out_height >= 1 && g.out_width >= 1);
  assert(g.in_height * g.in_width <= std::numeric_limits<int32_t>::max());
  return g;
}

MaxPool2dResult max_pool2d_forward(const Tensor& input, const Pool2dGeometry& g) {
  const Tensor x = input.contiguous();
  MaxPool2dResult result{
      Tensor::empty(output_shape(g)),
      std::vector<int32_t>(static_cast<size_t>(g.batch * g.channels * g.out_height * g.out_width))};
  const int64_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
  for (int64_t plane = 0; plane < g.batch * g.channels; ++plane) {
    const float* src = x.data() + plane * in_plane;
    float* dst = result.output.data() + plane * out_plane;
    int32_t* winner = result.argmax.data() + plane * out_plane;
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      for (int64_t ow = 0; ow < g.out_width; ++ow) {
        // padding <= kernel/2 guarantees every window holds at least one image position.
        const Window w = window_at(g, oh, ow);
        int64_t best_index = w.h_begin * g.in_width + w.w_begin;
        float best = src[best_index];
        for (int64_t ih = w.h_begin; ih < w.h_end; ++ih) {
          for (int64_t iw = w.w_begin; iw < w.w_end; ++iw) {
            const float v = src[ih * g.in_width + iw];
            if (v > best || std::isnan(v)) {  // strict '>': the first of equal maxima wins (as PyTorch)
              best = v;
              best_index = ih * g.in_width + iw;
            }
          }
        }
        dst[oh * g.out_width + ow] = best;
        winner[oh * g.out_width + ow] = static_cast<int32_t>(best_index);
      }
    }
  }
  return result;
}

Tensor max_pool2d_backward(const Tensor& grad_output, const std::vector<int32_t>& argmax,
                           const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::zeros({g.batch, g.channels, g.in_height, g.in_width});
  const int64_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
  for (int64_t plane = 0; plane < g.batch * g.channels; ++plane) {
    const float* src = gy.data() + plane * out_plane;
    const int32_t* winner = argmax.data() + plane * out_plane;
    float* dst = gx.data() + plane * in_plane;
    for (int64_t o = 0; o < out_plane; ++o)
      dst[winner[o]] += src[o];
  }
  return gx;
}

Tensor avg_pool2d_forward(const Tensor& input, const Pool2dGeometry& g) {
  const Tensor x = input.contiguous();
  Tensor y = Tensor::empty(output_shape(g));
  const int64_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
  const float inv_area = 1.0f / static_cast<float>(g.kernel * g.kernel);  // padding counts in the divisor
  for (int64_t plane = 0; plane < g.batch * g.channels; ++plane) {
    const float* src = x.data() + plane * in_plane;
    float* dst = y.data() + plane * out_plane;
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
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad_output, const Pool2dGeometry& g) {
  const Tensor gy = grad_output.contiguous();
  Tensor gx = Tensor::zeros({g.batch, g.channels, g.in_height, g.in_width});
  const int64_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
  const float inv_area = 1.0f / static_cast<float>(g.kernel * g.kernel);
  for (int64_t plane = 0; plane < g.batch * g.channels; ++plane) {
    const float* src = gy.data() + plane * out_plane;
    float* dst = gx.data() + plane * in_plane;
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
  return gx;
}

}  // namespace qg::kernel
