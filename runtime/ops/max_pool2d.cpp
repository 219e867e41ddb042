#include "runtime/ops/max_pool2d.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <stdexcept>
#include <vector>

#include "runtime/ops/separable_pool.h"
#include "runtime/ops/simd_clones.h"

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
      const Window2d::Range rows = op.window.clipped(oy, 0, height);
      for (int64_t ox = 0; ox < out_width; ++ox) {
        const Window2d::Range cols = op.window.clipped(ox, 1, width);
        int32_t largest = std::numeric_limits<int32_t>::min();
        for (int64_t y = rows.begin; y < rows.end; ++y) {
          for (int64_t x = cols.begin; x < cols.end; ++x)
            largest = std::max(largest, plane[y * width + x]);
        }
        output[static_cast<size_t>((c * out_height + oy) * out_width + ox)] = largest;
      }
    }
  }
}

namespace {

// Output row `oh` of a 2x2, stride-2 pooling of one plane: the larger of the two input rows, then of each
// pair of neighbours (both loops vectorise).
QG_RUNTIME_CLONES void max_pool_2x2_plane(const int32_t* __restrict plane, int64_t width, int64_t out_height,
                                          int64_t out_width, int32_t* __restrict out) {
  int32_t rows[512];
  for (int64_t oh = 0; oh < out_height; ++oh) {
    const int32_t* top = plane + 2 * oh * width;
    const int32_t* bottom = top + width;
    for (int64_t first = 0; first < out_width; first += 256) {  // 256 outputs (512 inputs) at a time
      const int64_t count = std::min<int64_t>(256, out_width - first);
      for (int64_t x = 0; x < 2 * count; ++x)
        rows[x] = std::max(top[2 * first + x], bottom[2 * first + x]);
      int32_t* dst = out + oh * out_width + first;
      for (int64_t ow = 0; ow < count; ++ow)
        dst[ow] = std::max(rows[2 * ow], rows[2 * ow + 1]);
    }
  }
}

// The max of the image part of a window (padding never wins).
struct MaxReducer {
  using Acc = int32_t;
  static int32_t identity() { return std::numeric_limits<int32_t>::min(); }
  static int32_t of(int32_t code) { return code; }
  static int32_t combine(int32_t a, int32_t b) { return std::max(a, b); }
  static int32_t finish(int32_t a) { return a; }
};

// The separable passes of any other window, compiled for each instruction set.
QG_RUNTIME_CLONES void max_pool_separable(const Window2d& window, const Dims& input_shape,
                                          std::span<const int32_t> input, std::span<int32_t> output) {
  separable_pool(window, input_shape, input, output, MaxReducer{}, MaxPool2d::kName);
}

}  // namespace

void max_pool2d_fast(const MaxPool2d& op, const Dims& input_shape, std::span<const int32_t> input,
                     std::span<int32_t> output) {
  const Window2d& w = op.window;
  const bool two_by_two = w.kernel == std::array<int64_t, 2>{2, 2} &&
                          w.stride == std::array<int64_t, 2>{2, 2} &&
                          w.padding == std::array<int64_t, 2>{0, 0};
  if (!two_by_two) {
    max_pool_separable(w, input_shape, input, output);
    return;
  }
  const int64_t channels = input_shape[0], height = input_shape[1], width = input_shape[2];
  const int64_t out_height = height / 2, out_width = width / 2;
  assert(static_cast<int64_t>(output.size()) == channels * out_height * out_width);
  for (int64_t c = 0; c < channels; ++c) {
    max_pool_2x2_plane(input.data() + c * height * width, width, out_height, out_width,
                       output.data() + c * out_height * out_width);
  }
}

// Pooling keeps the codes' meaning: the same quantization out as in.
Activation MaxPool2d::output(const Activation& incoming) const {
  return {output_shape(incoming.shape), incoming.quant};
}

void MaxPool2d::forward(const Activation& incoming, std::span<const int32_t> input, std::span<int32_t> output,
                        const OpContext& context) const {
  if (context.kernels == KernelChoice::Fast) {
    max_pool2d_fast(*this, incoming.shape, input, output);
  } else {
    max_pool2d_reference(*this, incoming.shape, input, output);
  }
}

nlohmann::json MaxPool2d::encode(TensorWriter&, const std::string&) const {
  return window_json(window, /*with_dilation=*/false);
}

MaxPool2d MaxPool2d::decode(const JsonField& f, const TensorReader&) {
  return MaxPool2d{read_window(f, /*with_dilation=*/false)};
}

}  // namespace qg::runtime
