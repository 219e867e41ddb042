#include "core/kernels/conv.h"

#include <algorithm>
#include <cassert>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/batch_reduction.h"
#include "core/buffer_cache.h"
#include "core/kernels/conv_paths.h"
#include "core/parallel.h"
#include "core/simd.h"
#include "util/window.h"

namespace qg::kernel {

namespace {

// About 1 MB of column matrix per chunk: big enough for efficient GEMMs, small enough to stay in cache.
constexpr int64_t kChunkFloats = int64_t{1} << 18;
// At most this many slices per backward pass (each holds a partial weight gradient).
constexpr int64_t kMaxSlices = 16;

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
  g.out_height = util::window_output_size(g.in_height, g.kernel_height, stride, padding, dilation);
  g.out_width = util::window_output_size(g.in_width, g.kernel_width, stride, padding, dilation);
  assert(g.out_height >= 1 && g.out_width >= 1);
  assert(g.in_channels % groups == 0 && g.out_channels % groups == 0 && weight[1] == g.in_channels / groups);
  return g;
}

int64_t conv2d_chunk_samples(const Conv2dGeometry& g) {
  const int64_t per_sample = std::max<int64_t>(g.column_rows() * g.out_height * g.out_width, 1);
  return std::clamp<int64_t>(kChunkFloats / per_sample, 1, std::max<int64_t>(g.batch, 1));
}

// The shifted GEMM runs one product per kernel tap, each of depth C_in/groups over the output plane; with
// many taps (5x5 kernels and larger) or a small plane those products are too thin to keep the FPU busy, and
// one im2col product of depth C_in/groups*kH*kW is faster (measured on this project's benchmark shapes:
// 1.7x for a 7x7 32->32 conv on 14x14, 1.6x for LeNet-5's 5x5 6->16, 1.2x for a 3x3 64->64 on 7x7; the 3x3
// convs of larger planes stay faster shifted).
constexpr int64_t kShiftedMaxTaps = 24;
constexpr int64_t kShiftedMinPlane = 64;

// The direct path computes one output channel's row at a time from the input rows; a pointwise (1x1) conv
// over many input channels re-reads those rows once per output channel, where one GEMM reuses each loaded
// value across output channels. Measured (64 images, 2 threads, forward / backward): 32->64 on 28x28,
// direct 8.8 / 18.4 ms, shifted 1.6 / 7.1 ms; 16->16 on 14x14, 0.12 / 0.53 against 0.12 / 0.21 ms; at 8
// input channels the two are level, and with more than one tap (an image's first conv) direct is ahead.
constexpr int64_t kDirectMaxPointwiseChannels = 8;

ConvPath conv2d_auto_path(const Conv2dGeometry& g) {
  const bool pointwise = g.kernel_height * g.kernel_width == 1;
  if (conv_paths::direct_applies(g) &&
      !(pointwise && g.in_channels_per_group() > kDirectMaxPointwiseChannels))
    return ConvPath::Direct;
  if (!conv_paths::shifted_applies(g)) return ConvPath::Gemm;
  const int64_t taps = g.kernel_height * g.kernel_width;
  // A 1x1 conv is one product either way.
  const bool thin = taps > kShiftedMaxTaps || (taps > 1 && g.out_height * g.out_width < kShiftedMinPlane);
  return thin ? ConvPath::Gemm : ConvPath::Shifted;
}

bool conv2d_direct_applies(const Conv2dGeometry& g) {
  return conv_paths::direct_applies(g);
}
bool conv2d_shifted_applies(const Conv2dGeometry& g) {
  return conv_paths::shifted_applies(g);
}

namespace conv_paths {

ConvPath choose_path(const Conv2dGeometry& g, ConvPath path) {
  if (path == ConvPath::Direct && !conv_paths::direct_applies(g)) {
    throw std::invalid_argument(
        "conv2d: the direct path needs stride 1 and C_in/groups*kH*kW <= 32 (stride " +
        std::to_string(g.stride) + ", patch " + std::to_string(g.patch_size()) + ")");
  }
  if (path == ConvPath::Shifted && !conv_paths::shifted_applies(g)) {
    throw std::invalid_argument("conv2d: the shifted-GEMM path needs stride 1 (stride " +
                                std::to_string(g.stride) + ")");
  }
  return path == ConvPath::Auto ? conv2d_auto_path(g) : path;
}

int64_t forward_task_images(const Conv2dGeometry& g, ConvPath chosen) {
  if (chosen != ConvPath::Gemm || batch_reduction::split_invariant()) return 1;
  return std::min(conv2d_chunk_samples(g), std::max<int64_t>(1, (g.batch + 7) / 8));
}

void forward_images(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                    ConvPath chosen, ImageRange range, float* output) {
  if (chosen == ConvPath::Direct) {
    direct_forward(input, weight, bias, g, range, output);
  } else if (chosen == ConvPath::Shifted) {
    shifted_forward(input, weight, bias, g, range, output);
  } else {
    gemm_forward(input, weight, bias, g, range, output);
  }
}

OutputGrads::OutputGrads(const float* batch, const Conv2dGeometry& g)
    : batch_(batch), image_size_(g.out_channels * g.out_height * g.out_width) {}

OutputGrads::OutputGrads(std::function<void(int64_t, float*)> make, const Conv2dGeometry& g)
    : make_(std::move(make)), image_size_(g.out_channels * g.out_height * g.out_width) {}

const float* OutputGrads::image(int64_t n) const {
  if (batch_) return batch_ + n * image_size_;
  thread_local Buffer<float> made;
  made.resize(static_cast<size_t>(image_size_));
  make_(n, made.data());
  return made.data();
}

PaddedTaps padded_taps(const Conv2dGeometry& g) {
  PaddedTaps p;
  p.padded_height = g.in_height + 2 * g.padding;
  p.padded_width = g.in_width + 2 * g.padding;
  p.plane = p.padded_height * p.padded_width;
  p.span = (g.out_height - 1) * p.padded_width + g.out_width;
  p.taps = g.kernel_height * g.kernel_width;
  for (int64_t ki = 0; ki < g.kernel_height; ++ki) {
    for (int64_t kj = 0; kj < g.kernel_width; ++kj)
      p.offsets.push_back((ki * p.padded_width + kj) * g.dilation);
  }
  return p;
}

int64_t backward_slices(int64_t batch) {
  return std::clamp<int64_t>(batch, 1, kMaxSlices);
}

ImageRange slice_images(int64_t batch, int64_t slices, int64_t s) {
  return {batch * s / slices, batch * (s + 1) / slices};
}

void bias_grad_sums(const OutputGrads& grad_output, const Conv2dGeometry& g, ImageRange range, double* sums) {
  const int64_t plane = g.out_height * g.out_width;
  std::fill(sums, sums + g.out_channels, 0.0);
  for (int64_t n = range.begin; n < range.end; ++n) {
    const float* image = grad_output.image(n);
    for (int64_t c = 0; c < g.out_channels; ++c)
      sums[c] += simd::plane_sum(image + c * plane, plane);
  }
}

}  // namespace conv_paths

Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g,
                      ConvPath path) {
  assert(input.is_contiguous() && weight.is_contiguous());
  Tensor output = Tensor::empty({g.batch, g.out_channels, g.out_height, g.out_width});
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  const float* x = input.data();
  const float* w = weight.data();
  const float* bias_data = b.defined() ? b.data() : nullptr;
  float* y = output.data();
  const ConvPath chosen = conv_paths::choose_path(g, path);
  // A task per image on the direct and shifted paths: each is independent and small enough to stay in
  // L1/L2; chunks of images on the GEMM path (conv_paths::forward_task_images).
  const int64_t chunk = conv_paths::forward_task_images(g, chosen);
  parallel::parallel_for(parallel::task_count(g.batch, chunk), [&](int64_t task) {
    const conv_paths::ImageRange range{task * chunk, std::min(g.batch, (task + 1) * chunk)};
    conv_paths::forward_images(x, w, bias_data, g, chosen, range, y);
  });
  return output;
}

Conv2dGrads conv2d_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                            const Conv2dGeometry& g, const Conv2dGradRequest& request, ConvPath path) {
  const Tensor grad_out = grad_output.contiguous();
  return conv_paths::backward_images(conv_paths::OutputGrads(grad_out.data(), g), input, weight, g, request,
                                     conv_paths::choose_path(g, path));
}

namespace conv_paths {

Conv2dGrads backward_images(const OutputGrads& grad_output, const Tensor& input, const Tensor& weight,
                            const Conv2dGeometry& g, const Conv2dGradRequest& request, ConvPath chosen) {
  assert(input.is_contiguous() && weight.is_contiguous());
  // Split-invariant sums (core/batch_reduction.h): one slice per image, added in the halving tree.
  const bool per_image = batch_reduction::split_invariant();
  const int64_t slices = per_image ? g.batch : backward_slices(g.batch);
  const int64_t weight_size = weight.numel();
  Conv2dGrads grads;
  if (request.input) grads.input = Tensor::empty(input.shape());  // every image is overwritten
  Buffer<float> weight_partials(request.weight ? static_cast<size_t>(slices * weight_size) : 0);
  std::vector<double> bias_partials(request.bias ? static_cast<size_t>(slices * g.out_channels) : 0);

  parallel::parallel_for(slices, [&](int64_t s) {
    const ImageRange range = slice_images(g.batch, slices, s);
    const GradTargets targets{request.input ? grads.input.data() : nullptr,
                              request.weight ? weight_partials.data() + s * weight_size : nullptr,
                              request.bias ? bias_partials.data() + s * g.out_channels : nullptr};
    if (!targets.input && !targets.weight) {  // the bias alone
      if (targets.bias) bias_grad_sums(grad_output, g, range, targets.bias);
      return;
    }
    if (chosen == ConvPath::Direct) {
      direct_backward(grad_output, input.data(), weight.data(), g, range, targets);
    } else if (chosen == ConvPath::Shifted) {
      shifted_backward(grad_output, input.data(), weight.data(), g, range, targets);
    } else {
      gemm_backward(grad_output, input.data(), weight.data(), g, range, targets);
    }
  });

  if (per_image) {
    // In float at every level, then over the processes of a data-parallel run.
    if (request.weight) {
      batch_reduction::tree_sum(weight_partials.data(), slices, weight_size);
      batch_reduction::cross_process_sum(std::span<float>(weight_partials.data(), weight_size));
    }
    if (request.bias) {
      std::vector<float> images(bias_partials.begin(), bias_partials.end());
      batch_reduction::tree_sum(images.data(), slices, g.out_channels);
      batch_reduction::cross_process_sum(std::span<float>(images.data(), g.out_channels));
      std::copy(images.begin(), images.begin() + g.out_channels, bias_partials.begin());
    }
  }
  // Slice partials, added in slice order (after the tree, only the first is left).
  const int64_t added = per_image ? 1 : slices;
  if (request.weight) {
    grads.weight = Tensor::empty(weight.shape());
    float* dw = grads.weight.data();
    std::copy(weight_partials.data(), weight_partials.data() + weight_size, dw);
    for (int64_t s = 1; s < added; ++s) {
      const float* partial = weight_partials.data() + s * weight_size;
      for (int64_t i = 0; i < weight_size; ++i)
        dw[i] += partial[i];
    }
  }
  if (request.bias) {
    grads.bias = Tensor::empty({g.out_channels});
    for (int64_t c = 0; c < g.out_channels; ++c) {
      double total = 0.0;
      for (int64_t s = 0; s < added; ++s)
        total += bias_partials[static_cast<size_t>(s * g.out_channels + c)];
      grads.bias.data()[c] = static_cast<float>(total);
    }
  }
  return grads;
}

}  // namespace conv_paths

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
