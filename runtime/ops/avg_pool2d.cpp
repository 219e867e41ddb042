#include "runtime/ops/avg_pool2d.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <vector>

#include "runtime/ops/separable_pool.h"
#include "runtime/ops/simd_clones.h"

namespace qg::runtime {

Dims AvgPool2d::output_shape(const Dims& input_shape) const {
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

int64_t divide_round_half_away(int64_t numerator, int64_t denominator) {
  assert(denominator > 0);
  const int64_t half = denominator / 2;
  // For odd denominators there are no ties; for even ones, +half then truncation rounds ties outward.
  return numerator >= 0 ? (numerator + half) / denominator : -((-numerator + half) / denominator);
}

void avg_pool2d_reference(const AvgPool2d& op, const QuantParams& input_quant, const Dims& input_shape,
                          std::span<const int32_t> input, std::span<int32_t> output) {
  const int64_t channels = input_shape[0], height = input_shape[1], width = input_shape[2];
  const int64_t out_height = op.window.output_size(height, 0, AvgPool2d::kName);
  const int64_t out_width = op.window.output_size(width, 1, AvgPool2d::kName);
  assert(static_cast<int64_t>(output.size()) == channels * out_height * out_width);
  const int64_t divisor = op.window.kernel[0] * op.window.kernel[1];  // padding included
  const int32_t zero = input_quant.zero_point;
  for (int64_t c = 0; c < channels; ++c) {
    const int32_t* plane = input.data() + c * height * width;
    for (int64_t oy = 0; oy < out_height; ++oy) {
      // Padded positions hold Z, i.e. contribute (Z - Z) = 0 to the sum: only the image part is summed.
      const Window2d::Range rows = op.window.clipped(oy, 0, height);
      for (int64_t ox = 0; ox < out_width; ++ox) {
        const Window2d::Range cols = op.window.clipped(ox, 1, width);
        int64_t sum = 0;
        for (int64_t y = rows.begin; y < rows.end; ++y) {
          for (int64_t x = cols.begin; x < cols.end; ++x)
            sum += plane[y * width + x] - zero;
        }
        output[static_cast<size_t>((c * out_height + oy) * out_width + ox)] =
            static_cast<int32_t>(zero + divide_round_half_away(sum, divisor));
      }
    }
  }
}

namespace {

// The sum of (q - Z) over the image part of a window (padding holds Z: it adds 0), then the rounded mean.
struct MeanReducer {
  using Acc = int64_t;
  int32_t zero;
  int64_t divisor;
  static int64_t identity() { return 0; }
  int64_t of(int32_t code) const { return static_cast<int64_t>(code) - zero; }
  static int64_t combine(int64_t a, int64_t b) { return a + b; }
  int32_t finish(int64_t sum) const {
    return static_cast<int32_t>(zero + divide_round_half_away(sum, divisor));
  }
};

// The sum of (q - Z) over n codes: the whole plane of a global average pool, in one vectorised pass.
QG_RUNTIME_CLONES int64_t offset_sum(const int32_t* codes, int64_t n, int32_t zero) {
  int64_t sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += static_cast<int64_t>(codes[i]) - zero;
  return sum;
}

// Whether the window is the whole unpadded plane (global average pooling): one output per channel.
bool covers_the_plane(const Window2d& window, const Dims& input_shape) {
  return window.kernel[0] == input_shape[1] && window.kernel[1] == input_shape[2] &&
         window.padding == std::array<int64_t, 2>{0, 0};
}

// The separable passes of any window but the whole plane, compiled for each instruction set.
QG_RUNTIME_CLONES void mean_pool_separable(const Window2d& window, const Dims& input_shape,
                                           std::span<const int32_t> input, std::span<int32_t> output,
                                           const MeanReducer mean) {
  separable_pool(window, input_shape, input, output, mean, AvgPool2d::kName);
}

}  // namespace

void avg_pool2d_fast(const AvgPool2d& op, const QuantParams& input_quant, const Dims& input_shape,
                     std::span<const int32_t> input, std::span<int32_t> output) {
  const MeanReducer mean{input_quant.zero_point,
                         op.window.kernel[0] * op.window.kernel[1]};  // padding counts
  if (covers_the_plane(op.window, input_shape)) {  // the separable passes' rows would be one window each
    const int64_t plane = input_shape[1] * input_shape[2];
    assert(static_cast<int64_t>(output.size()) == input_shape[0]);
    for (int64_t c = 0; c < input_shape[0]; ++c)
      output[static_cast<size_t>(c)] = mean.finish(offset_sum(input.data() + c * plane, plane, mean.zero));
    return;
  }
  mean_pool_separable(op.window, input_shape, input, output, mean);
}

// The mean of S (q - Z) is S (mean(q - Z)): the same quantization out as in.
Activation AvgPool2d::output(const Activation& incoming) const {
  return {output_shape(incoming.shape), incoming.quant};
}

void AvgPool2d::forward(const Activation& incoming, std::span<const int32_t> input, std::span<int32_t> output,
                        const OpContext& context) const {
  if (context.kernels == KernelChoice::Fast) {
    avg_pool2d_fast(*this, incoming.quant, incoming.shape, input, output);
  } else {
    avg_pool2d_reference(*this, incoming.quant, incoming.shape, input, output);
  }
}

nlohmann::json AvgPool2d::encode(TensorWriter&, const std::string&) const {
  return window_json(window, /*with_dilation=*/false);
}

AvgPool2d AvgPool2d::decode(const JsonField& f, const TensorReader&) {
  return AvgPool2d{read_window(f, /*with_dilation=*/false)};
}

}  // namespace qg::runtime
