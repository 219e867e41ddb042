#include "core/kernels/conv_max_pool.h"

#include <algorithm>
#include <cassert>

#include "core/buffer_cache.h"
#include "core/kernels/conv_paths.h"
#include "core/parallel.h"

namespace qg::kernel {

namespace {

[[maybe_unused]] bool pool_reads_conv_output(const Conv2dGeometry& conv, const Pool2dGeometry& pool) {
  return pool.batch == conv.batch && pool.channels == conv.out_channels &&
         pool.in_height == conv.out_height && pool.in_width == conv.out_width;
}

// The convolution of images [range.begin, range.end) into `out` ([range.size(), C_out, H_out, W_out]): the
// input pointer moved to the range's first image, so that the path writes image range.begin at out[0].
void convolve_images(const float* x, const float* w, const float* bias, const Conv2dGeometry& g,
                     ConvPath chosen, conv_paths::ImageRange range, float* out) {
  const float* first = x + range.begin * g.in_channels * g.in_height * g.in_width;
  conv_paths::forward_images(first, w, bias, g, chosen, conv_paths::ImageRange{0, range.size()}, out);
}

}  // namespace

MaxPool2dResult conv2d_max_pool2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                          const Conv2dGeometry& conv, const Pool2dGeometry& pool,
                                          ConvPath path) {
  assert(input.is_contiguous() && weight.is_contiguous() && pool_reads_conv_output(conv, pool));
  MaxPool2dResult result = max_pool2d_empty_result(pool);
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  const float* bias_data = b.defined() ? b.data() : nullptr;
  const ConvPath chosen = conv_paths::choose_path(conv, path);
  // The same tasks as conv2d_forward, so that the GEMM path's chunks (and with them its sums) are the same.
  const int64_t chunk = conv_paths::forward_task_images(conv, chosen);
  const int64_t image_size = conv.out_channels * conv.out_height * conv.out_width;
  parallel::parallel_for(parallel::task_count(conv.batch, chunk), [&](int64_t task) {
    const conv_paths::ImageRange range{task * chunk, std::min(conv.batch, (task + 1) * chunk)};
    thread_local Buffer<float> planes;  // the range's convolution output, pooled while in cache
    planes.resize(static_cast<size_t>(range.size() * image_size));
    convolve_images(input.data(), weight.data(), bias_data, conv, chosen, range, planes.data());
    max_pool2d_forward_planes(planes.data(), pool, range.begin * conv.out_channels,
                              range.end * conv.out_channels, result.output.data(), result.argmax);
  });
  return result;
}

Conv2dGrads conv2d_max_pool2d_backward(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                       const Tensor& input, const Tensor& weight, const Conv2dGeometry& conv,
                                       const Pool2dGeometry& pool, const Conv2dGradRequest& request,
                                       ConvPath path) {
  assert(pool_reads_conv_output(conv, pool));
  const Tensor gy = grad_output.contiguous();
  // Image n's convolution-output gradient, unpooled when the backward pass asks for it.
  const conv_paths::OutputGrads unpooled(
      [&](int64_t n, float* dst) {
        max_pool2d_backward_planes(gy.data(), argmax, pool, n * conv.out_channels,
                                   (n + 1) * conv.out_channels, dst);
      },
      conv);
  return conv_paths::backward_images(unpooled, input, weight, conv, request,
                                     conv_paths::choose_path(conv, path));
}

MaxPool2dResult conv2d_max_pool2d_forward_reference(const Tensor& input, const Tensor& weight,
                                                    const Tensor& bias, const Conv2dGeometry& conv,
                                                    const Pool2dGeometry& pool) {
  assert(pool_reads_conv_output(conv, pool));
  return max_pool2d_forward_reference(conv2d_reference(input, weight, bias, conv), pool);
}

Conv2dGrads conv2d_max_pool2d_backward_reference(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                                 const Tensor& input, const Tensor& weight,
                                                 const Conv2dGeometry& conv, const Pool2dGeometry& pool) {
  assert(pool_reads_conv_output(conv, pool));
  return conv2d_backward_reference(max_pool2d_backward_reference(grad_output, argmax, pool), input, weight,
                                   conv);
}

}  // namespace qg::kernel
