#include "runtime/ops/conv2d.h"

#include <cassert>
#include <stdexcept>

#include "runtime/accumulator_bound.h"
#include "runtime/int_dot.h"
#include "runtime/ops/conv2d_depthwise.h"
#include "runtime/ops/conv2d_dot.h"

namespace qg::runtime {

Dims Conv2d::output_shape(const Dims& input_shape) const {
  if (input_shape.size() != 3) {
    throw std::invalid_argument("expects a [C,H,W] input but got " + dims_to_string(input_shape));
  }
  if (input_shape[0] != in_channels) {
    throw std::invalid_argument("input has " + std::to_string(input_shape[0]) +
                                " channels but the layer expects " + std::to_string(in_channels) +
                                " (input " + dims_to_string(input_shape) + ", weight " +
                                dims_to_string(weight.shape) + ")");
  }
  const Dims shape{out_channels,
                   window.output_size(input_shape[1], 0, "input " + dims_to_string(input_shape)),
                   window.output_size(input_shape[2], 1, "input " + dims_to_string(input_shape))};
  checked_numel(shape, "output");
  return shape;
}

QuantParams Conv2d::output_quant(const QuantParams& incoming) const {
  input_quant.validate_activation("input quantization");
  if (!(incoming == input_quant)) {
    throw std::invalid_argument("the incoming activation has " + quant_to_string(incoming) +
                                " but the layer was built for " + quant_to_string(input_quant));
  }
  if (in_channels < 1 || out_channels < 1 || groups < 1 || in_channels % groups != 0 ||
      out_channels % groups != 0) {
    throw std::invalid_argument("in_channels " + std::to_string(in_channels) + " and out_channels " +
                                std::to_string(out_channels) + " must be positive multiples of groups " +
                                std::to_string(groups));
  }
  const Dims expected{out_channels, in_channels / groups, window.kernel[0], window.kernel[1]};
  if (weight.shape != expected) {
    throw std::invalid_argument("weight has shape " + dims_to_string(weight.shape) + " but expected " +
                                dims_to_string(expected) + " for " + std::to_string(in_channels) + " -> " +
                                std::to_string(out_channels) + " channels, groups " + std::to_string(groups) +
                                ", " + window.describe());
  }
  weight.validate("weight");
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != out_channels) {
    throw std::invalid_argument("bias has " + std::to_string(bias.size()) + " values but expected " +
                                std::to_string(out_channels));
  }
  output_stage.validate(out_channels, "output stage");
  check_accumulator_bound(weight.row_size(), input_quant, weight, bias, "accumulator");
  return output_stage.output;
}

namespace {

/// Geometry of one conv call, unpacked once for both kernels.
struct ConvLayout {
  int64_t height, width, out_height, out_width;
  int64_t in_per_group, out_per_group;
  int64_t kernel_h, kernel_w;
  int64_t row;        // products per output: in_per_group * kernel_h * kernel_w
  int64_t positions;  // out_height * out_width
};

ConvLayout layout_of(const Conv2d& op, const Dims& input_shape) {
  ConvLayout l{};
  l.height = input_shape[1];
  l.width = input_shape[2];
  l.out_height = op.window.output_size(l.height, 0, Conv2d::kName);
  l.out_width = op.window.output_size(l.width, 1, Conv2d::kName);
  l.in_per_group = op.in_channels / op.groups;
  l.out_per_group = op.out_channels / op.groups;
  l.kernel_h = op.window.kernel[0];
  l.kernel_w = op.window.kernel[1];
  l.row = l.in_per_group * l.kernel_h * l.kernel_w;
  l.positions = l.out_height * l.out_width;
  return l;
}

}  // namespace

void conv2d_reference(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                      std::span<int32_t> output, RequantMode mode) {
  const ConvLayout l = layout_of(op, input_shape);
  assert(static_cast<int64_t>(output.size()) == op.out_channels * l.positions);
  const auto& [stride_h, stride_w] = op.window.stride;
  const auto& [pad_h, pad_w] = op.window.padding;
  const auto& [dil_h, dil_w] = op.window.dilation;
  const int32_t input_zero = op.input_quant.zero_point;
  for (int64_t oc = 0; oc < op.out_channels; ++oc) {
    const int64_t first_in = (oc / l.out_per_group) * l.in_per_group;
    const int32_t weight_zero = op.weight.zero_point(oc);
    for (int64_t oy = 0; oy < l.out_height; ++oy) {
      for (int64_t ox = 0; ox < l.out_width; ++ox) {
        int32_t acc = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(oc)];
        for (int64_t i = 0; i < l.in_per_group; ++i) {
          for (int64_t t = 0; t < l.kernel_h; ++t) {
            const int64_t y = oy * stride_h - pad_h + t * dil_h;
            if (y < 0 || y >= l.height) continue;  // padding: (Z1 - Z1) * w = 0
            for (int64_t u = 0; u < l.kernel_w; ++u) {
              const int64_t x = ox * stride_w - pad_w + u * dil_w;
              if (x < 0 || x >= l.width) continue;
              const int32_t q1 = input[static_cast<size_t>(((first_in + i) * l.height + y) * l.width + x)];
              const int32_t q2 = op.weight.codes[static_cast<size_t>(
                  ((oc * l.in_per_group + i) * l.kernel_h + t) * l.kernel_w + u)];
              acc += (q1 - input_zero) * (q2 - weight_zero);
            }
          }
        }
        output[static_cast<size_t>((oc * l.out_height + oy) * l.out_width + ox)] =
            op.output_stage.apply(acc, oc, mode);
      }
    }
  }
}

namespace {

/// Fills rows[p * l.row + k] with (q1 - Z1) for output position p and product k of group `group`
/// (0 for padding) and sums[p] with the row's sum.
void im2col_offsets(const Conv2d& op, const ConvLayout& l, int64_t group, std::span<const int32_t> input,
                    int16_t* rows, int32_t* sums) {
  const auto& [stride_h, stride_w] = op.window.stride;
  const auto& [pad_h, pad_w] = op.window.padding;
  const auto& [dil_h, dil_w] = op.window.dilation;
  const int32_t input_zero = op.input_quant.zero_point;
  const int32_t* channels = input.data() + group * l.in_per_group * l.height * l.width;
  for (int64_t oy = 0; oy < l.out_height; ++oy) {
    for (int64_t ox = 0; ox < l.out_width; ++ox) {
      int16_t* row = rows + (oy * l.out_width + ox) * l.row;
      int32_t sum = 0;
      for (int64_t i = 0; i < l.in_per_group; ++i) {
        const int32_t* plane = channels + i * l.height * l.width;
        for (int64_t t = 0; t < l.kernel_h; ++t) {
          const int64_t y = oy * stride_h - pad_h + t * dil_h;
          const bool row_inside = y >= 0 && y < l.height;
          for (int64_t u = 0; u < l.kernel_w; ++u) {
            const int64_t x = ox * stride_w - pad_w + u * dil_w;
            const bool inside = row_inside && x >= 0 && x < l.width;
            // |q1 - Z1| <= 255 for codes of at most 8 bits, so int16 holds it exactly.
            const auto offset = static_cast<int16_t>(inside ? plane[y * l.width + x] - input_zero : 0);
            *row++ = offset;
            sum += offset;
          }
        }
      }
      sums[oy * l.out_width + ox] = sum;
    }
  }
}

}  // namespace

namespace {

// The int16 path: im2col of (q1 - Z1), one int16 dot product per output. Any stride.
void conv2d_int16(const Conv2d& op, const ConvLayout& l, std::span<const int32_t> input,
                  std::span<int32_t> output, RequantMode mode, Scratch& scratch) {
  grow_to(scratch.offsets, static_cast<size_t>(l.positions * l.row));
  grow_to(scratch.sums, static_cast<size_t>(l.positions));
  for (int64_t g = 0; g < op.groups; ++g) {
    im2col_offsets(op, l, g, input, scratch.offsets.data(), scratch.sums.data());
    for (int64_t oc = g * l.out_per_group; oc < (g + 1) * l.out_per_group; ++oc) {
      const int16_t* weights = op.weight.codes.data() + oc * l.row;
      const int32_t weight_zero = op.weight.zero_point(oc);
      const int32_t bias = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(oc)];
      int32_t* out = output.data() + oc * l.positions;
      for (int64_t p = 0; p < l.positions; ++p) {
        // sum (q1-Z1)(q2-Z2) = sum (q1-Z1) q2 - Z2 sum (q1-Z1)
        const int32_t acc = bias + dot_int16(weights, scratch.offsets.data() + p * l.row, l.row) -
                            weight_zero * scratch.sums[static_cast<size_t>(p)];
        out[p] = op.output_stage.apply(acc, oc, mode);
      }
    }
  }
}

}  // namespace

void conv2d_fast(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                 std::span<int32_t> output, RequantMode mode, Scratch& scratch) {
  conv2d_fast(op, input_shape, input, output, mode, scratch, int8::best_isa());
}

void conv2d_fast(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                 std::span<int32_t> output, RequantMode mode, Scratch& scratch, int8::Isa isa) {
  const ConvLayout l = layout_of(op, input_shape);
  assert(static_cast<int64_t>(output.size()) == op.out_channels * l.positions);
  if (conv2d_depthwise_applies(op)) {
    conv2d_depthwise(op, input_shape, input, output, mode, scratch, isa);
  } else if (conv2d_dot_applies(op)) {
    conv2d_dot(op, input_shape, input, output, mode, scratch, isa);
  } else {
    conv2d_int16(op, l, input, output, mode, scratch);
  }
}

Activation Conv2d::output(const Activation& incoming) const {
  return {output_shape(incoming.shape), output_quant(incoming.quant)};
}

void Conv2d::forward(const Activation& incoming, std::span<const int32_t> input, std::span<int32_t> output,
                     const OpContext& context) const {
  if (context.kernels == KernelChoice::Fast) {
    conv2d_fast(*this, incoming.shape, input, output, context.mode, context.scratch);
  } else {
    conv2d_reference(*this, incoming.shape, input, output, context.mode);
  }
}

nlohmann::json Conv2d::encode(TensorWriter& tensors, const std::string& prefix) const {
  nlohmann::json j = window_json(window, /*with_dilation=*/true);
  j["in_channels"] = in_channels;
  j["out_channels"] = out_channels;
  j["groups"] = groups;
  write_layer_tensors(*this, prefix, tensors, j);
  return j;
}

Conv2d Conv2d::decode(const JsonField& f, const TensorReader& tensors) {
  Conv2d conv;
  conv.in_channels = f["in_channels"].as_int(1, kMaxElements);
  conv.out_channels = f["out_channels"].as_int(1, kMaxElements);
  conv.groups = f["groups"].as_int(1, kMaxElements);
  conv.window = read_window(f, /*with_dilation=*/true);
  read_layer_tensors(f, tensors, conv);
  return conv;
}

}  // namespace qg::runtime
