// max_pool2d and avg_pool2d as autograd Functions over core/kernels/pool.h; global_avg_pool2d with its
// kernels here (a mean per plane).
#include "nn/functional/pooling.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "autograd/function.h"
#include "core/kernels/pool.h"
#include "core/parallel.h"
#include "core/simd.h"
#include "nn/functional/conv2d.h"

namespace qg::nn::functional {

kernel::Pool2dGeometry checked_pool2d_geometry(const Shape& input, const Pool2dOptions& o, const char* op) {
  const std::string where = " (input " + to_string(input) + ", kernel_size " + std::to_string(o.kernel_size) +
                            ", stride " + std::to_string(o.effective_stride()) + ", padding " +
                            std::to_string(o.padding) + ")";
  if (input.size() != 4)
    throw std::invalid_argument(std::string(op) + ": expected a 4-D input [N,C,H,W]" + where);
  if (o.kernel_size < 1 || o.stride < 0 || o.padding < 0) {
    throw std::invalid_argument(
        std::string(op) + ": kernel_size must be >= 1, stride >= 0 (0 = kernel_size), padding >= 0" + where);
  }
  if (o.padding > o.kernel_size / 2) {
    throw std::invalid_argument(std::string(op) + ": padding must be at most half the kernel size" + where);
  }
  for (int axis : {2, 3}) {
    try {
      conv_output_size(input[static_cast<size_t>(axis)], o.kernel_size, o.effective_stride(), o.padding, 1,
                       op);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(e.what() + where);
    }
  }
  return kernel::pool2d_geometry(input, o.kernel_size, o.effective_stride(), o.padding);
}

namespace {

// y = max over the window of x:  dy/dx = 1 at the window's (first) maximum, 0 elsewhere.
struct MaxPool2dFn {
  static constexpr const char* name = "max_pool2d";
  kernel::Pool2dGeometry geometry;
  kernel::MaxPool2dArgmax argmax;

  Tensor forward(const Tensor& x, const kernel::Pool2dGeometry& g) {
    geometry = g;
    kernel::MaxPool2dResult result = kernel::max_pool2d_forward(x, geometry);
    argmax = std::move(result.argmax);
    return result.output;
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    return {kernel::max_pool2d_backward(grad, argmax, geometry)};
  }
};

// y = (1/k^2) * sum over the window of x (padding counts as zeros):  dy/dx = 1/k^2 for each x in the window.
struct AvgPool2dFn {
  static constexpr const char* name = "avg_pool2d";
  kernel::Pool2dGeometry geometry;

  Tensor forward(const Tensor& x, const kernel::Pool2dGeometry& g) {
    geometry = g;
    return kernel::avg_pool2d_forward(x, geometry);
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {kernel::avg_pool2d_backward(grad, geometry)}; }
};

// Planes per parallel task: about 32K values, so a ResNet's last layer (N*C planes of 7x7) is shared
// between the threads while a small input stays on one.
int64_t planes_per_task(int64_t plane) {
  constexpr int64_t kValuesPerTask = int64_t{1} << 15;
  return std::max<int64_t>(1, kValuesPerTask / std::max<int64_t>(plane, 1));
}

// Calls body(first, count) for consecutive runs of the `planes` planes, in parallel.
template <class Body>
void for_plane_runs(int64_t planes, int64_t plane, const Body& body) {
  const int64_t per_task = planes_per_task(plane);
  parallel::parallel_for(parallel::task_count(planes, per_task), [&](int64_t task) {
    const int64_t first = task * per_task;
    body(first, std::min(per_task, planes - first));
  });
}

void check_global_pool_input(const Tensor& input) {
  if (input.dim() != 4 || input.size(2) < 1 || input.size(3) < 1) {
    throw std::invalid_argument("global_avg_pool2d: expected a 4-D input [N,C,H,W] with H, W >= 1, got " +
                                to_string(input.shape()));
  }
}

// y[n, c] = (1/(H*W)) * sum_{h,w} x[n, c, h, w]:  dy[n, c]/dx[n, c, h, w] = 1/(H*W) at every (h, w)
struct GlobalAvgPool2dFn {
  static constexpr const char* name = "global_avg_pool2d";
  Shape input_shape;

  Tensor forward(const Tensor& input) {
    input_shape = input.shape();
    const Tensor x = input.contiguous();
    const int64_t planes = input.size(0) * input.size(1), plane = input.size(2) * input.size(3);
    Tensor y = Tensor::empty({input.size(0), input.size(1), 1, 1});
    const float* in = x.data();
    float* out = y.data();
    for_plane_runs(planes, plane, [&](int64_t first, int64_t count) {
      for (int64_t p = first; p < first + count; ++p)
        out[p] = static_cast<float>(simd::plane_sum(in + p * plane, plane) / static_cast<double>(plane));
    });
    return y;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous();
    const int64_t planes = input_shape[0] * input_shape[1], plane = input_shape[2] * input_shape[3];
    Tensor dx = Tensor::empty(input_shape);
    const float* dy = g.data();
    float* out = dx.data();
    for_plane_runs(planes, plane, [&](int64_t first, int64_t count) {
      for (int64_t p = first; p < first + count; ++p)
        std::fill(out + p * plane, out + (p + 1) * plane, dy[p] / static_cast<float>(plane));
    });
    return {dx};
  }
};

}  // namespace

Tensor max_pool2d(const Tensor& input, const Pool2dOptions& options) {
  return apply<MaxPool2dFn>(input, checked_pool2d_geometry(input.shape(), options, "max_pool2d"));
}

Tensor avg_pool2d(const Tensor& input, const Pool2dOptions& options) {
  return apply<AvgPool2dFn>(input, checked_pool2d_geometry(input.shape(), options, "avg_pool2d"));
}

Tensor global_avg_pool2d(const Tensor& input) {
  check_global_pool_input(input);
  return apply<GlobalAvgPool2dFn>(input);
}

Tensor global_avg_pool2d_reference(const Tensor& input) {
  check_global_pool_input(input);
  const int64_t n = input.size(0), c = input.size(1), h = input.size(2), w = input.size(3);
  Tensor y = Tensor::empty({n, c, 1, 1});
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      double total = 0.0;
      for (int64_t r = 0; r < h; ++r) {
        for (int64_t s = 0; s < w; ++s)
          total += input.at({i, j, r, s});
      }
      y.data()[i * c + j] = static_cast<float>(total / static_cast<double>(h * w));
    }
  }
  return y;
}

}  // namespace qg::nn::functional
