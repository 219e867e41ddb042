// The im2col + GEMM convolution path (see conv.h for the column matrix and conv_paths.h for the split).
//
// Forward: a chunk of images at a time, im2col of the chunk, one GEMM per group, then the [C_out, n*P]
// product is reordered to [n, C_out, P] with the bias added.
// Backward: the slice's images in chunks of at most conv2d_chunk_samples, the chunk's output gradient
// reordered to the GEMMs' [C_out, n*P] layout:
//     dW_g += dY_g [C_out/G, n*P] x columns_g^T [n*P, K_g]        (accumulated over the slice's chunks)
//     dcolumns_g = W_g^T [K_g, C_out/G] x dY_g [C_out/G, n*P],  then col2im onto the chunk's dX.
#include <algorithm>
#include <cassert>
#include <limits>

#include "core/blas.h"
#include "core/buffer_cache.h"
#include "core/kernels/conv_paths.h"
#include "core/simd.h"

namespace qg::kernel {

namespace {

// Output positions [begin, end) along one axis whose input coordinate o*stride + offset lies inside
// [0, in_size); the positions outside read the zero padding.
struct Span {
  int64_t begin = 0, end = 0;
};

Span inside_positions(int64_t offset, int64_t in_size, int64_t out_size, int64_t stride) {
  const int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;  // ceil(-offset / stride)
  const int64_t last_input = in_size - 1 - offset;                          // o*stride <= last_input
  const int64_t end = last_input < 0 ? 0 : last_input / stride + 1;
  const int64_t begin = std::min(first, out_size);
  return {begin, std::clamp(end, begin, out_size)};
}

// Where kernel tap (ki, kj) reads, relative to the top-left output position, and which outputs it
// reads inside the image.
struct Tap {
  int64_t h_offset = 0, w_offset = 0;
  Span rows, cols;
};

Tap kernel_tap(const Conv2dGeometry& g, int64_t ki, int64_t kj) {
  Tap tap;
  tap.h_offset = ki * g.dilation - g.padding;
  tap.w_offset = kj * g.dilation - g.padding;
  tap.rows = inside_positions(tap.h_offset, g.in_height, g.out_height, g.stride);
  tap.cols = inside_positions(tap.w_offset, g.in_width, g.out_width, g.stride);
  return tap;
}

// One im2col row for one sample: dst[oh, ow] = plane[oh*stride + h_offset, ow*stride + w_offset], or 0.
void gather_plane(const float* plane, const Conv2dGeometry& g, const Tap& tap, float* dst) {
  const int64_t out_w = g.out_width;
  std::fill(dst, dst + tap.rows.begin * out_w, 0.0f);
  for (int64_t oh = tap.rows.begin; oh < tap.rows.end; ++oh) {
    const float* src_row = plane + (oh * g.stride + tap.h_offset) * g.in_width;
    float* dst_row = dst + oh * out_w;
    for (int64_t ow = 0; ow < tap.cols.begin; ++ow)
      dst_row[ow] = 0.0f;
    if (g.stride == 1) {  // a plain loop: rows are short, a memmove call per row costs more than the copy
      const float* src = src_row + tap.w_offset;
      for (int64_t ow = tap.cols.begin; ow < tap.cols.end; ++ow)
        dst_row[ow] = src[ow];
    } else {
      for (int64_t ow = tap.cols.begin; ow < tap.cols.end; ++ow)
        dst_row[ow] = src_row[ow * g.stride + tap.w_offset];
    }
    for (int64_t ow = tap.cols.end; ow < out_w; ++ow)
      dst_row[ow] = 0.0f;
  }
  std::fill(dst + tap.rows.end * out_w, dst + g.out_height * out_w, 0.0f);
}

// The adjoint of gather_plane: plane[oh*stride + h_offset, ow*stride + w_offset] += src[oh, ow].
void scatter_plane(const float* __restrict src, const Conv2dGeometry& g, const Tap& tap,
                   float* __restrict plane) {
  for (int64_t oh = tap.rows.begin; oh < tap.rows.end; ++oh) {
    float* dst_row = plane + (oh * g.stride + tap.h_offset) * g.in_width;
    const float* src_row = src + oh * g.out_width;
    if (g.stride == 1) {
      float* dst = dst_row + tap.w_offset;
      for (int64_t ow = tap.cols.begin; ow < tap.cols.end; ++ow)
        dst[ow] += src_row[ow];
    } else {
      for (int64_t ow = tap.cols.begin; ow < tap.cols.end; ++ow)
        dst_row[ow * g.stride + tap.w_offset] += src_row[ow];
    }
  }
}

int as_blas_int(int64_t value) {
  assert(value <= std::numeric_limits<int>::max());
  return static_cast<int>(value);
}

// The same convolution on `count` samples: how a chunk of the batch is described.
Conv2dGeometry sub_batch(const Conv2dGeometry& g, int64_t count) {
  Conv2dGeometry part = g;
  part.batch = count;
  return part;
}

int64_t input_sample_size(const Conv2dGeometry& g) {
  return g.in_channels * g.in_height * g.in_width;
}
int64_t output_sample_size(const Conv2dGeometry& g) {
  return g.out_channels * g.out_height * g.out_width;
}

// result [C_out, cols] = weight_g [C_out/G, K_g] x columns_g [K_g, cols] for every group g.
void grouped_product(const float* weight, const float* columns, const Conv2dGeometry& g, float* result) {
  const int64_t cols = g.column_cols(), k = g.patch_size(), out_per_group = g.out_channels_per_group();
  for (int64_t group = 0; group < g.groups; ++group) {
    blas::gemm(false, false, as_blas_int(out_per_group), as_blas_int(cols), as_blas_int(k), 1.0f,
               weight + group * out_per_group * k, as_blas_int(k), columns + group * k * cols,
               as_blas_int(cols), 0.0f, result + group * out_per_group * cols, as_blas_int(cols));
  }
}

// [C_out, N*P] (the GEMM's layout) -> [N, C_out, P] (the tensor's), adding the bias on the way.
void rows_to_output(const float* rows, const float* bias, const Conv2dGeometry& g, float* output) {
  const int64_t plane = g.out_height * g.out_width, cols = g.column_cols();
  for (int64_t co = 0; co < g.out_channels; ++co) {
    const float b = bias ? bias[co] : 0.0f;
    for (int64_t n = 0; n < g.batch; ++n) {
      const float* src = rows + co * cols + n * plane;
      float* dst = output + (n * g.out_channels + co) * plane;
      for (int64_t p = 0; p < plane; ++p)
        dst[p] = src[p] + b;
    }
  }
}

// Per-thread working memory, reused from call to call.
struct Scratch {
  Buffer<float> columns, product;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void im2col(const float* input, const Conv2dGeometry& g, float* columns) {
  const int64_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
  const int64_t cols = g.column_cols();
  for (int64_t c = 0; c < g.in_channels; ++c) {
    for (int64_t ki = 0; ki < g.kernel_height; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_width; ++kj) {
        const Tap tap = kernel_tap(g, ki, kj);
        float* row = columns + ((c * g.kernel_height + ki) * g.kernel_width + kj) * cols;
        for (int64_t n = 0; n < g.batch; ++n) {
          gather_plane(input + (n * g.in_channels + c) * in_plane, g, tap, row + n * out_plane);
        }
      }
    }
  }
}

void col2im(const float* columns, const Conv2dGeometry& g, float* input_grad) {
  const int64_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
  const int64_t cols = g.column_cols();
  for (int64_t c = 0; c < g.in_channels; ++c) {
    for (int64_t ki = 0; ki < g.kernel_height; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_width; ++kj) {
        const Tap tap = kernel_tap(g, ki, kj);
        const float* row = columns + ((c * g.kernel_height + ki) * g.kernel_width + kj) * cols;
        for (int64_t n = 0; n < g.batch; ++n) {
          scatter_plane(row + n * out_plane, g, tap, input_grad + (n * g.in_channels + c) * in_plane);
        }
      }
    }
  }
}

namespace conv_paths {

void gemm_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                  ImageRange range, float* output) {
  const Conv2dGeometry part = sub_batch(g, range.size());
  Scratch& s = scratch();
  s.columns.resize(static_cast<size_t>(part.column_rows() * part.column_cols()));
  s.product.resize(static_cast<size_t>(part.out_channels * part.column_cols()));
  im2col(input + range.begin * input_sample_size(g), part, s.columns.data());
  grouped_product(weight, s.columns.data(), part, s.product.data());
  rows_to_output(s.product.data(), bias, part, output + range.begin * output_sample_size(g));
}

void gemm_backward(const OutputGrads& grad_output, const float* input, const float* weight,
                   const Conv2dGeometry& g, ImageRange range, const GradTargets& targets) {
  const int64_t plane = g.out_height * g.out_width, k = g.patch_size(), cout = g.out_channels_per_group();
  const int64_t chunk = conv2d_chunk_samples(g);
  Scratch& s = scratch();
  if (targets.bias) std::fill(targets.bias, targets.bias + g.out_channels, 0.0);
  for (int64_t first = range.begin; first < range.end; first += chunk) {
    const Conv2dGeometry part = sub_batch(g, std::min(chunk, range.end - first));
    const int64_t cols = part.column_cols();
    s.columns.resize(static_cast<size_t>(part.column_rows() * cols));
    s.product.resize(static_cast<size_t>(part.out_channels * cols));
    // The chunk's output gradient as [C_out, n*P], the GEMMs' layout.
    float* rows = s.product.data();
    for (int64_t n = 0; n < part.batch; ++n) {
      const float* dy = grad_output.image(first + n);
      for (int64_t c = 0; c < g.out_channels; ++c) {
        std::copy(dy + c * plane, dy + (c + 1) * plane, rows + c * cols + n * plane);
        if (targets.bias) targets.bias[c] += simd::plane_sum(dy + c * plane, plane);
      }
    }
    if (targets.weight) {
      im2col(input + first * input_sample_size(g), part, s.columns.data());
      const float beta = first == range.begin ? 0.0f : 1.0f;
      for (int64_t group = 0; group < g.groups; ++group) {
        blas::gemm(false, true, as_blas_int(cout), as_blas_int(k), as_blas_int(cols), 1.0f,
                   rows + group * cout * cols, as_blas_int(cols), s.columns.data() + group * k * cols,
                   as_blas_int(cols), beta, targets.weight + group * cout * k, as_blas_int(k));
      }
    }
    if (targets.input) {
      for (int64_t group = 0; group < g.groups; ++group) {
        blas::gemm(true, false, as_blas_int(k), as_blas_int(cols), as_blas_int(cout), 1.0f,
                   weight + group * cout * k, as_blas_int(k), rows + group * cout * cols, as_blas_int(cols),
                   0.0f, s.columns.data() + group * k * cols, as_blas_int(cols));
      }
      float* dx = targets.input + first * input_sample_size(g);
      std::fill(dx, dx + part.batch * input_sample_size(g), 0.0f);
      col2im(s.columns.data(), part, dx);
    }
  }
}

}  // namespace conv_paths

}  // namespace qg::kernel
