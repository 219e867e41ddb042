// The layer kinds of configs: one row each (config/layer_kind.h). A row says everything about its kind: keys,
// shape inference (PyTorch's formulas, docs/config.md section 3), the module it builds, its docs line.
#include <algorithm>
#include <cassert>

#include "config/layer_kind.h"
#include "nn/layers/activation.h"
#include "nn/layers/add.h"
#include "nn/layers/batch_norm2d.h"
#include "nn/layers/concat.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/dropout.h"
#include "nn/layers/flatten.h"
#include "nn/layers/linear.h"
#include "nn/layers/pooling.h"
#include "util/window.h"

namespace qg::config {

namespace {

const Shape& single_input(std::span<const Shape> inputs) {
  assert(inputs.size() == 1 && "every layer kind has one input");
  return inputs.front();
}

std::string empty_output_message(const LayerSite& site, const Shape& in, const LayerSpec& layer,
                                 bool with_dilation) {
  std::string message = site.name + " output would be empty: input " + batch_shape_string(in) +
                        ", kernel_size " + std::to_string(layer.kernel_size);
  if (layer.padding != 0) message += ", padding " + std::to_string(layer.padding);
  if (with_dilation && layer.dilation != 1) message += ", dilation " + std::to_string(layer.dilation);
  return message;
}

// ---- conv2d ---------------------------------------------------------------------------------------
// H' = floor((H + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1 (util/window.h)
// parameters = out_channels * (in_channels / groups) * kernel_size^2 + out_channels (bias)

Shape infer_conv2d(LayerSpec& layer, std::span<const Shape> inputs, const LayerSite& site) {
  const Shape& in = single_input(inputs);
  site.require_image_input(in);
  layer.in_channels = site.agree(layer.in_channels, in[0], "in_channels", "channels", in);
  for (const auto& [key, channels] :
       {std::pair{"in_channels", layer.in_channels}, {"out_channels", layer.out_channels}}) {
    if (channels % layer.groups != 0) {
      throw site.error("groups", "groups " + std::to_string(layer.groups) + " does not divide " + key + " " +
                                     std::to_string(channels) + " (input " + batch_shape_string(in) + ")");
    }
  }
  const int64_t h =
      util::window_output_size(in[1], layer.kernel_size, layer.stride, layer.padding, layer.dilation);
  const int64_t w =
      util::window_output_size(in[2], layer.kernel_size, layer.stride, layer.padding, layer.dilation);
  if (h == 0 || w == 0) throw site.error(empty_output_message(site, in, layer, /*with_dilation=*/true));
  const int64_t weight = site.checked_numel(
      {layer.out_channels, layer.in_channels / layer.groups, layer.kernel_size, layer.kernel_size}, "weight");
  layer.parameter_count = weight + (layer.bias ? layer.out_channels : 0);
  return {layer.out_channels, h, w};
}

std::shared_ptr<nn::Module> build_conv2d(const LayerSpec& layer, Generator& gen) {
  return std::make_shared<nn::Conv2d>(
      layer.in_channels, layer.out_channels, layer.kernel_size,
      nn::functional::Conv2dOptions{layer.stride, layer.padding, layer.dilation, layer.groups}, layer.bias,
      gen);
}

// ---- maxpool2d, avgpool2d -------------------------------------------------------------------------
// H' = floor((H + 2*padding - kernel_size) / stride) + 1, padding <= kernel_size / 2

Shape infer_pool2d(LayerSpec& layer, std::span<const Shape> inputs, const LayerSite& site) {
  const Shape& in = single_input(inputs);
  site.require_image_input(in);
  // PyTorch's rule (padding <= kernel_size / 2): it keeps every window overlapping the real input.
  if (2 * layer.padding > layer.kernel_size) {
    throw site.error("padding", site.name + " padding " + std::to_string(layer.padding) +
                                    " must be at most half of kernel_size " +
                                    std::to_string(layer.kernel_size));
  }
  const int64_t h = util::window_output_size(in[1], layer.kernel_size, layer.stride, layer.padding);
  const int64_t w = util::window_output_size(in[2], layer.kernel_size, layer.stride, layer.padding);
  if (h == 0 || w == 0) throw site.error(empty_output_message(site, in, layer, /*with_dilation=*/false));
  return {in[0], h, w};
}

nn::functional::Pool2dOptions pool_options(const LayerSpec& layer) {
  return {layer.kernel_size, layer.stride, layer.padding};
}

std::shared_ptr<nn::Module> build_maxpool2d(const LayerSpec& layer, Generator&) {
  return std::make_shared<nn::MaxPool2d>(pool_options(layer));
}

std::shared_ptr<nn::Module> build_avgpool2d(const LayerSpec& layer, Generator&) {
  return std::make_shared<nn::AvgPool2d>(pool_options(layer));
}

std::vector<LayerKey> pool_keys() {
  return {
      window_key(required_integer("kernel_size", &LayerSpec::kernel_size)),
      window_key(same_as_key("stride", &LayerSpec::stride, kPositive, "kernel_size")),  // PyTorch's default
      window_key(integer_key("padding", &LayerSpec::padding, kNonNegative, 0))};
}

// ---- relu, flatten --------------------------------------------------------------------------------

Shape same_shape(LayerSpec&, std::span<const Shape> inputs, const LayerSite&) {
  return single_input(inputs);
}

std::shared_ptr<nn::Module> build_relu(const LayerSpec&, Generator&) {
  return std::make_shared<nn::ReLU>();
}

// [C, H, W] -> [C*H*W]
Shape infer_flatten(LayerSpec&, std::span<const Shape> inputs, const LayerSite& site) {
  return {site.checked_numel(single_input(inputs), "output")};
}

std::shared_ptr<nn::Module> build_flatten(const LayerSpec&, Generator&) {
  return std::make_shared<nn::Flatten>();
}

// ---- batchnorm2d ----------------------------------------------------------------------------------
// parameters = 2*C (weight, bias); buffers = 2*C + 1 (running_mean, running_var, num_batches_tracked)

Shape infer_batchnorm2d(LayerSpec& layer, std::span<const Shape> inputs, const LayerSite& site) {
  const Shape& in = single_input(inputs);
  site.require_image_input(in);
  layer.num_features = site.agree(layer.num_features, in[0], "num_features", "channels", in);
  layer.parameter_count = 2 * layer.num_features;
  layer.buffer_count = 2 * layer.num_features + 1;
  return in;
}

std::shared_ptr<nn::Module> build_batchnorm2d(const LayerSpec& layer, Generator&) {
  return std::make_shared<nn::BatchNorm2d>(layer.num_features, static_cast<float>(layer.eps),
                                           static_cast<float>(layer.momentum));
}

// ---- linear ---------------------------------------------------------------------------------------
// parameters = out_features * in_features + out_features (bias)

Shape infer_linear(LayerSpec& layer, std::span<const Shape> inputs, const LayerSite& site) {
  const Shape& in = single_input(inputs);
  if (in.size() != 1) {
    throw site.error("linear expects a 2-D input [N, features] but receives " + batch_shape_string(in) +
                     "; add a flatten layer before it");
  }
  layer.in_features = site.agree(layer.in_features, in[0], "in_features", "features", in);
  const int64_t weight = site.checked_numel({layer.out_features, layer.in_features}, "weight");
  layer.parameter_count = weight + (layer.bias ? layer.out_features : 0);
  return {layer.out_features};
}

std::shared_ptr<nn::Module> build_linear(const LayerSpec& layer, Generator& gen) {
  return std::make_shared<nn::Linear>(layer.in_features, layer.out_features, layer.bias, gen);
}

// ---- add, concat (graph configs: several inputs) --------------------------------------------------

// add: inputs of one shape -> that shape
Shape infer_add(LayerSpec&, std::span<const Shape> inputs, const LayerSite& site) {
  if (inputs[0] != inputs[1]) {
    throw site.error("add inputs must have the same shape: " + batch_shape_string(inputs[0]) + " and " +
                     batch_shape_string(inputs[1]) +
                     " (a residual shortcut that changes the shape needs a "
                     "projection, e.g. a 1x1 conv2d with the block's stride)");
  }
  return inputs[0];
}

std::shared_ptr<nn::Module> build_add(const LayerSpec&, Generator&) {
  return std::make_shared<nn::Add>();
}

// concat: [C_0, ...], [C_1, ...] -> [C_0 + C_1 + ..., ...]; every other size agrees
Shape infer_concat(LayerSpec&, std::span<const Shape> inputs, const LayerSite& site) {
  Shape out = inputs[0];
  for (size_t k = 1; k < inputs.size(); ++k) {
    const Shape& in = inputs[k];
    if (in.size() != out.size() || !std::equal(in.begin() + 1, in.end(), inputs[0].begin() + 1)) {
      throw site.error("concat joins channels, so its inputs must agree in every other size: input 0 is " +
                       batch_shape_string(inputs[0]) + ", input " + std::to_string(k) + " is " +
                       batch_shape_string(in));
    }
    out[0] += in[0];
  }
  return out;
}

std::shared_ptr<nn::Module> build_concat(const LayerSpec&, Generator&) {
  return std::make_shared<nn::Concat>();
}

// ---- global_avgpool, relu6, dropout ---------------------------------------------------------------

// [C, H, W] -> [C, 1, 1]
Shape infer_global_avgpool(LayerSpec&, std::span<const Shape> inputs, const LayerSite& site) {
  const Shape& in = single_input(inputs);
  site.require_image_input(in);
  return {in[0], 1, 1};
}

std::shared_ptr<nn::Module> build_global_avgpool(const LayerSpec&, Generator&) {
  return std::make_shared<nn::GlobalAvgPool2d>();
}

std::shared_ptr<nn::Module> build_relu6(const LayerSpec&, Generator&) {
  return std::make_shared<nn::ReLU6>();
}

std::shared_ptr<nn::Module> build_dropout(const LayerSpec& layer, Generator& gen) {
  return std::make_shared<nn::Dropout>(static_cast<float>(layer.p), gen);  // its mask seed drawn from gen
}

}  // namespace

const std::vector<LayerKind>& layer_kinds() {
  static const std::vector<LayerKind> kinds = {
      {.name = "conv2d",
       .aliases = {},
       .module = "Conv2d",
       .keys = {required_integer("out_channels", &LayerSpec::out_channels),
                window_key(required_integer("kernel_size", &LayerSpec::kernel_size)),
                inferred_integer("in_channels", &LayerSpec::in_channels),
                window_key(integer_key("stride", &LayerSpec::stride, kPositive, 1)),
                window_key(integer_key("padding", &LayerSpec::padding, kNonNegative, 0)),
                window_key(integer_key("dilation", &LayerSpec::dilation, kPositive, 1)),
                integer_key("groups", &LayerSpec::groups, kPositive, 1),
                boolean_key("bias", &LayerSpec::bias, true), layer_quant_key()},
       .shape_docs = "`[C, H, W]` -> `[out_channels, H', W']`",
       .note = "",
       .infer = infer_conv2d,
       .build = build_conv2d},
      {.name = "maxpool2d",
       .aliases = {"max_pool2d"},
       .module = "MaxPool2d",
       .keys = pool_keys(),
       .shape_docs = "`[C, H, W]` -> `[C, H', W']`",
       .note = "",
       .infer = infer_pool2d,
       .build = build_maxpool2d},
      {.name = "avgpool2d",
       .aliases = {"avg_pool2d"},
       .module = "AvgPool2d",
       .keys = pool_keys(),
       .shape_docs = "`[C, H, W]` -> `[C, H', W']`",
       .note = "padded zeros count in the average (PyTorch's `count_include_pad=True`)",
       .infer = infer_pool2d,
       .build = build_avgpool2d},
      {.name = "relu",
       .aliases = {},
       .module = "ReLU",
       .keys = {},
       .shape_docs = "unchanged",
       .note = "",
       .infer = same_shape,
       .build = build_relu},
      {.name = "batchnorm2d",
       .aliases = {"batch_norm2d"},
       .module = "BatchNorm2d",
       .keys = {inferred_integer("num_features", &LayerSpec::num_features),
                number_key("eps", &LayerSpec::eps, positive_numbers(), 1e-5),
                number_key("momentum", &LayerSpec::momentum, NumberRange{0.0, 1.0, false, false}, 0.1)},
       .shape_docs = "unchanged",
       .note = "",
       .batch_statistics = true,
       .infer = infer_batchnorm2d,
       .build = build_batchnorm2d},
      {.name = "linear",
       .aliases = {},
       .module = "Linear",
       .keys = {required_integer("out_features", &LayerSpec::out_features),
                inferred_integer("in_features", &LayerSpec::in_features),
                boolean_key("bias", &LayerSpec::bias, true), layer_quant_key()},
       .shape_docs = "`[F]` -> `[out_features]`",
       .note = "",
       .infer = infer_linear,
       .build = build_linear},
      {.name = "flatten",
       .aliases = {},
       .module = "Flatten",
       .keys = {},
       .shape_docs = "`[C, H, W]` -> `[C*H*W]`",
       .note = "",
       .infer = infer_flatten,
       .build = build_flatten},
      {.name = "relu6",
       .aliases = {},
       .module = "ReLU6",
       .keys = {},
       .shape_docs = "unchanged",
       .note = "min(max(x, 0), 6)",
       .infer = same_shape,
       .build = build_relu6},
      {.name = "global_avgpool",
       .aliases = {"global_avg_pool2d"},
       .module = "GlobalAvgPool2d",
       .keys = {},
       .shape_docs = "`[C, H, W]` -> `[C, 1, 1]`",
       .note = "the mean of each channel (PyTorch's `AdaptiveAvgPool2d(1)`)",
       .infer = infer_global_avgpool,
       .build = build_global_avgpool},
      {.name = "dropout",
       .aliases = {},
       .module = "Dropout",
       .keys = {number_key("p", &LayerSpec::p, NumberRange{0.0, 1.0, false, true}, 0.5)},
       .shape_docs = "unchanged",
       .note = "zeroes elements with probability `p` while training and scales the rest by 1/(1-p); the "
               "identity at inference",
       .infer = same_shape,
       .build = build_dropout},
      {.name = "add",
       .aliases = {},
       .module = "Add",
       .keys = {},
       .shape_docs = "`[S]`, `[S]` -> `[S]`",
       .note = "the sum of its two `inputs` (a residual connection)",
       .min_inputs = 2,
       .max_inputs = 2,
       .infer = infer_add,
       .build = build_add},
      {.name = "concat",
       .aliases = {},
       .module = "Concat",
       .keys = {},
       .shape_docs = "`[C_0, H, W]`, `[C_1, H, W]`, ... -> `[C_0 + C_1 + ..., H, W]`",
       .note = "its two or more `inputs` joined along channels (`[F]` inputs along features)",
       .min_inputs = 2,
       .max_inputs = LayerKind::kAnyNumber,
       .infer = infer_concat,
       .build = build_concat},
  };
  return kinds;
}

}  // namespace qg::config
