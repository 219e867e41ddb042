#include "runtime/ops/max_pool2d.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <stdexcept>

namespace qg::runtime {

Dims MaxPool2d::output_shape(const Dims& input_shape) const {
  if (input_shape.size() != 3) {
    throw std::invalid_argument("expects a [C,H,W] input but got " + dims_to_string(input_shape));
  }
  if (window.dilation != std::array<int64_t, 2>{1, 1}) {
    throw std::invalid_argument("dilation is not supported (" + window.describe() + ")");
  }
  for (size_t a = 0; a < 2; ++a) {
    if (window.padding[a] > window.kernel[a] / 2) {
      throw std::invalid_argument("padding must be at most half the kernel (" + window.describe() + ")");
    }
  }
  const std::string what = "input " + dims_to_string(input_shape);
  return {input_shape[0], window.output_size(input_shape[1], 0, what),
          window.output_size(input_shape[2], 1, what)};
}

void max_pool2d_reference(const MaxPool2d& op, const Dims& input_shape, std::span<const int32_t> input,
                          std::span<int32_t> output) {
  const int64_t channels = input_shape[0], height = input_shape[1], width = input_shape[2];
  const int64_t out_height = op.window.output_size(height, 0, MaxPool2d::kName);
  const int64_t out_width = op.window.output_size(width, 1, MaxPool2d::kName);
  assert(static_cast<int64_t>(output.size()) == channels * out_height * out_width);
  for (int64_t c = 0; c < channels; ++c) {
    const int32_t* plane = input.data() + c * height * width;
    for (int64_t oy = 0; oy < out_height; ++oy) {
      // Clip the window to the image: padding never wins a max.
      const int64_t y0 = std::max<int64_t>(oy * op.window.stride[0] - op.window.padding[0], 0);
      const int64_t y1 =
          std::min(oy * op.window.stride[0] - op.window.padding[0] + op.window.kernel[0], height);
      for (int64_t ox = 0; ox < out_width; ++ox) {
        const int64_t x0 = std::max<int64_t>(ox * op.window.stride[1] - op.window.padding[1], 0);
        const int64_t x1 =
            std::min(ox * op.window.stride[1] - op.window.padding[1] + op.window.kernel[1], width);
        int32_t largest = std::numeric_limits<int32_t>::min();
        for (int64_t y = y0; y < y1; ++y) {
          for (int64_t x = x0; x < x1; ++x)
            largest = std::max(largest, plane[y * width + x]);
        }
        output[static_cast<size_t>((c * out_height + oy) * out_width + ox)] = largest;
      }
    }
  }
}

}  // namespace qg::runtime
