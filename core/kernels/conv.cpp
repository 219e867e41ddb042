#include "core/kernels/conv.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <memory>
#include <vector>

#include "core/blas.h"

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
    std::fill(dst_row, dst_row + tap.cols.begin, 0.0f);
    if (g.stride == 1) {
      std::copy(src_row + tap.cols.begin + tap.w_offset, src_row + tap.cols.end + tap.w_offset,
                dst_row + tap.cols.begin);
    } else {
      for (int64_t ow = tap.cols.begin; ow < tap.cols.end; ++ow)
        dst_row[ow] = src_row[ow * g.stride + tap.w_offset];
    }
    std::fill(dst_row + tap.cols.end, dst_row + out_w, 0.0f);
  }
  std::fill(dst + tap.rows.end * out_w, dst + g.out_height * out_w, 0.0f);
}

// The adjoint of gather_plane: plane[oh*stride + h_offset, ow*stride + w_offset] += src[oh, ow].
void scatter_plane(const float* src, const Conv2dGeometry& g, const Tap& tap, float* plane) {
  for (int64_t oh = tap.rows.begin; oh < tap.rows.end; ++oh) {
    float* dst_row = plane + (oh * g.stride + tap.h_offset) * g.in_width;
    const float* src_row = src + oh * g.out_width;
    for (int64_t ow = tap.cols.begin; ow < tap.cols.end; ++ow)
      dst_row[ow * g.stride + tap.w_offset] += src_row[ow];
  }
}

// A float buffer that is not zero-filled when allocated, for matrices a kernel overwrites entirely.
using Scratch = std::unique_ptr<float[]>;

Scratch make_scratch(int64_t size) {
  return std::make_unique_for_overwrite<float[]>(static_cast<size_t>(size));
}

int as_blas_int(int64_t value) {
  assert(value <= std::numeric_limits<int>::max());
  return static_cast<int>(value);
}

// About 1 MB of column matrix per chunk: big enough for efficient GEMMs, small enough to stay in cache.
constexpr int64_t kChunkFloats = int64_t{1} << 18;

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

// grad_weight_g [C_out/G, K_g] (= or +=, by beta) grad_rows_g [C_out/G, cols] x columns_g^T [cols, K_g].
void weight_product(const float* grad_rows, const float* columns, const Conv2dGeometry& g, float beta,
                    float* grad_weight) {
  const int64_t cols = g.column_cols(), k = g.patch_size(), out_per_group = g.out_channels_per_group();
  for (int64_t group = 0; group < g.groups; ++group) {
    blas::gemm(false, true, as_blas_int(out_per_group), as_blas_int(k), as_blas_int(cols), 1.0f,
               grad_rows + group * out_per_group * cols, as_blas_int(cols), columns + group * k * cols,
               as_blas_int(cols), beta, grad_weight + group * out_per_group * k, as_blas_int(k));
  }
}

// grad_columns_g [K_g, cols] = weight_g^T [K_g, C_out/G] x grad_rows_g [C_out/G, cols].
void columns_product(const float* weight, const float* grad_rows, const Conv2dGeometry& g,
                     float* grad_columns) {
  const int64_t cols = g.column_cols(), k = g.patch_size(), out_per_group = g.out_channels_per_group();
  for (int64_t group = 0; group < g.groups; ++group) {
    blas::gemm(true, false, as_blas_int(k), as_blas_int(cols), as_blas_int(out_per_group), 1.0f,
               weight + group * out_per_group * k, as_blas_int(k), grad_rows + group * out_per_group * cols,
               as_blas_int(cols), 0.0f, grad_columns + group * k * cols, as_blas_int(cols));
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

// [N, C_out, P] -> [C_out, N*P]: the output gradient in the layout of the GEMMs.
void output_to_rows(const float* output, const Conv2dGeometry& g, float* rows) {
  const int64_t plane = g.out_height * g.out_width, cols = g.column_cols();
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float* src = output + (n * g.out_channels + co) * plane;
      std::copy(src, src + plane, rows + co * cols + n * plane);
    }
  }
}

// sums[r] += the sum of row r of a [rows, cols] matrix.
void add_row_sums(const float* matrix, int64_t rows, int64_t cols, std::vector<double>& sums) {
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0.0;
    for (int64_t c = 0; c < cols; ++c)
      total += matrix[r * cols + c];
    sums[r] += total;
  }
}

}  // namespace

Conv2dGeometry conv2d_geometry(const Shape& input, const Shape& weight, int64_t stride, int64_t padding,
                               int64_t dilation, int64_t groups) {
  assert(input.size() == 4 && weight.size() == 4);
  Conv2dGeometry g;
  g.batch = input[0];
  g.in_channels = input[1];
  g.in_height = input[2];
  g.in_width = input[3];
  g.out_channels = weight[0];
  g.kernel_height = weight[2];
  g.kernel_width = weight[3];
  g.stride = stride;
  g.padding = padding;
  g.dilation = dilation;
  g.groups = groups;
  g.out_height = (g.in_height + 2 * padding - dilation * (g.kernel_height - 1) - 1) / stride + 1;
  g.out_width = (g.in_width + 2 * padding - dilation * (g.kernel_width - 1) - 1) / stride + 1;
  assert(g.out_height >= 1 && g.out_width >= 1);
  assert(g.in_channels % groups == 0 && g.out_channels % groups == 0 && weight[1] == g.in_channels / groups);
  return g;
}

int64_t conv2d_chunk_samples(const Conv2dGeometry& g) {
  const int64_t per_sample = std::max<int64_t>(g.column_rows() * g.out_height * g.out_width, 1);
  return std::clamp<int64_t>(kChunkFloats / per_sample, 1, std::max<int64_t>(g.batch, 1));
}

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

Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g) {
  assert(input.is_contiguous() && weight.is_contiguous());
  Tensor output = Tensor::empty({g.batch, g.out_channels, g.out_height, g.out_width});
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  const int64_t chunk = conv2d_chunk_samples(g);
  const Conv2dGeometry largest = sub_batch(g, chunk);
  const Scratch columns = make_scratch(largest.column_rows() * largest.column_cols());
  const Scratch product = make_scratch(largest.out_channels * largest.column_cols());
  for (int64_t first = 0; first < g.batch; first += chunk) {
    const Conv2dGeometry part = sub_batch(g, std::min(chunk, g.batch - first));
    im2col(input.data() + first * input_sample_size(g), part, columns.get());
    grouped_product(weight.data(), columns.get(), part, product.get());
    rows_to_output(product.get(), b.defined() ? b.data() : nullptr, part,
                   output.data() + first * output_sample_size(g));
  }
  return output;
}

Conv2dGrads conv2d_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                            const Conv2dGeometry& g, const Conv2dGradRequest& request) {
  assert(input.is_contiguous() && weight.is_contiguous());
  const Tensor grad_out = grad_output.contiguous();
  const int64_t chunk = conv2d_chunk_samples(g);
  const Conv2dGeometry largest = sub_batch(g, chunk);
  const Scratch grad_rows = make_scratch(largest.out_channels * largest.column_cols());
  // Holds a chunk's im2col matrix for the weight gradient, then the gradient of that matrix for col2im.
  const Scratch columns = make_scratch(largest.column_rows() * largest.column_cols());

  Conv2dGrads grads;
  std::vector<double> bias_sums(request.bias ? g.out_channels : 0, 0.0);
  if (request.weight) grads.weight = Tensor::empty(weight.shape());
  if (request.input) grads.input = Tensor::zeros(input.shape());
  for (int64_t first = 0; first < g.batch; first += chunk) {
    const Conv2dGeometry part = sub_batch(g, std::min(chunk, g.batch - first));
    output_to_rows(grad_out.data() + first * output_sample_size(g), part, grad_rows.get());
    if (request.bias) add_row_sums(grad_rows.get(), part.out_channels, part.column_cols(), bias_sums);
    if (request.weight) {
      im2col(input.data() + first * input_sample_size(g), part, columns.get());
      weight_product(grad_rows.get(), columns.get(), part, first == 0 ? 0.0f : 1.0f, grads.weight.data());
    }
    if (request.input) {
      columns_product(weight.data(), grad_rows.get(), part, columns.get());
      col2im(columns.get(), part, grads.input.data() + first * input_sample_size(g));
    }
  }
  if (request.bias) {
    grads.bias =
        Tensor::from_vector(std::vector<float>(bias_sums.begin(), bias_sums.end()), {g.out_channels});
  }
  return grads;
}

// ---- naive reference ------------------------------------------------------------------------

namespace {

// Calls f(n, co, oh, ow, c, ih, iw, ci, ki, kj) for every (output element, weight tap) pair that reads an
// input element inside the image: the seven loops of the convolution's definition.
template <class F>
void for_each_conv_term(const Conv2dGeometry& g, F&& f) {
  const int64_t in_per_group = g.in_channels_per_group(), out_per_group = g.out_channels_per_group();
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const int64_t group = co / out_per_group;
      for (int64_t oh = 0; oh < g.out_height; ++oh) {
        for (int64_t ow = 0; ow < g.out_width; ++ow) {
          for (int64_t ci = 0; ci < in_per_group; ++ci) {
            const int64_t c = group * in_per_group + ci;
            for (int64_t ki = 0; ki < g.kernel_height; ++ki) {
              const int64_t ih = oh * g.stride - g.padding + ki * g.dilation;
              if (ih < 0 || ih >= g.in_height) continue;
              for (int64_t kj = 0; kj < g.kernel_width; ++kj) {
                const int64_t iw = ow * g.stride - g.padding + kj * g.dilation;
                if (iw < 0 || iw >= g.in_width) continue;
                f(n, co, oh, ow, c, ih, iw, ci, ki, kj);
              }
            }
          }
        }
      }
    }
  }
}

Tensor from_doubles(const std::vector<double>& values, const Shape& shape) {
  return Tensor::from_vector(std::vector<float>(values.begin(), values.end()), shape);
}

}  // namespace

Tensor conv2d_reference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Conv2dGeometry& g) {
  const std::vector<float> x = input.to_vector(), w = weight.to_vector();
  const Shape out_shape{g.batch, g.out_channels, g.out_height, g.out_width};
  std::vector<double> y(static_cast<size_t>(numel(out_shape)), 0.0);
  const auto out_index = [&](int64_t n, int64_t co, int64_t oh, int64_t ow) {
    return ((n * g.out_channels + co) * g.out_height + oh) * g.out_width + ow;
  };
  if (bias.defined()) {
    const std::vector<float> b = bias.to_vector();
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = b[(i / (g.out_height * g.out_width)) % g.out_channels];
  }
  for_each_conv_term(g, [&](int64_t n, int64_t co, int64_t oh, int64_t ow, int64_t c, int64_t ih, int64_t iw,
                            int64_t ci, int64_t ki, int64_t kj) {
    const float xv = x[((n * g.in_channels + c) * g.in_height + ih) * g.in_width + iw];
    const float wv = w[((co * g.in_channels_per_group() + ci) * g.kernel_height + ki) * g.kernel_width + kj];
    y[out_index(n, co, oh, ow)] += static_cast<double>(xv) * wv;
  });
  return from_doubles(y, out_shape);
}

Conv2dGrads conv2d_backward_reference(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                      const Conv2dGeometry& g) {
  const std::vector<float> x = input.to_vector(), w = weight.to_vector(), gy = grad_output.to_vector();
  std::vector<double> gx(x.size(), 0.0), gw(w.size(), 0.0), gb(static_cast<size_t>(g.out_channels), 0.0);
  for (size_t i = 0; i < gy.size(); ++i)
    gb[(i / (g.out_height * g.out_width)) % g.out_channels] += gy[i];
  for_each_conv_term(g, [&](int64_t n, int64_t co, int64_t oh, int64_t ow, int64_t c, int64_t ih, int64_t iw,
                            int64_t ci, int64_t ki, int64_t kj) {
    const int64_t xi = ((n * g.in_channels + c) * g.in_height + ih) * g.in_width + iw;
    const int64_t wi = ((co * g.in_channels_per_group() + ci) * g.kernel_height + ki) * g.kernel_width + kj;
    const double go = gy[((n * g.out_channels + co) * g.out_height + oh) * g.out_width + ow];
    gx[xi] += go * w[wi];
    gw[wi] += go * x[xi];
  });
  return {from_doubles(gx, input.shape()), from_doubles(gw, weight.shape()),
          from_doubles(gb, {g.out_channels})};
}

}  // namespace qg::kernel
