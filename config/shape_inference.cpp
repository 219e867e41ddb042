#include "config/shape_inference.h"

#include <cassert>

#include "config/config_error.h"
#include "util/json_pointer.h"
#include "util/window.h"

namespace qg::config {

namespace {

/// Where a layer sits, to locate its errors: "/layers/3" or "/layers/3/groups".
struct LayerSite {
  const std::string& source;
  std::string pointer;
  const char* name;  // "conv2d"

  ConfigError error(const std::string& detail) const { return ConfigError(source, pointer, detail); }
  ConfigError error(const char* key, const std::string& detail) const {
    return ConfigError(source, util::json_pointer_append(pointer, key), detail);
  }
};

/// Product of `dims`, refusing anything above kMaxTensorElements (and so never overflowing).
int64_t checked_numel(const Shape& dims, const LayerSite& site, const std::string& what) {
  int64_t n = 1;
  for (const int64_t d : dims) {
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxTensorElements) {
      throw site.error(
          std::string(site.name) + " " + what + " would have more than " +
          std::to_string(kMaxTensorElements) +
          " elements (2^28, the most the integer runtime of ptq and train_qat takes for one tensor)");
    }
  }
  return n;
}

void require_image_input(const Shape& in, const LayerSite& site) {
  if (in.size() == 3) return;
  throw site.error(std::string(site.name) + " expects a 4-D input [N, C, H, W] but receives " +
                   batch_shape_string(in) + "; it cannot come after flatten or linear");
}

/// An inferable size: if the config gave it (non-zero) it must match what the input provides.
int64_t agree(int64_t given, int64_t actual, const char* key, const std::string& what, const Shape& in,
              const LayerSite& site) {
  if (given != 0 && given != actual) {
    throw site.error(key, std::string(site.name) + " " + key + " is " + std::to_string(given) +
                              " but its input " + batch_shape_string(in) + " has " + std::to_string(actual) +
                              " " + what);
  }
  return actual;
}

std::string empty_output_message(const LayerSite& site, const Shape& in, const LayerSpec& layer) {
  std::string message = std::string(site.name) + " output would be empty: input " + batch_shape_string(in) +
                        ", kernel_size " + std::to_string(layer.kernel_size);
  if (layer.padding != 0) message += ", padding " + std::to_string(layer.padding);
  if (layer.type == LayerType::kConv2d && layer.dilation != 1)
    message += ", dilation " + std::to_string(layer.dilation);
  return message;
}

Shape infer_conv2d(LayerSpec& layer, const Shape& in, const LayerSite& site) {
  require_image_input(in, site);
  layer.in_channels = agree(layer.in_channels, in[0], "in_channels", "channels", in, site);
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
  if (h == 0 || w == 0) throw site.error(empty_output_message(site, in, layer));

  const int64_t weight = checked_numel(
      {layer.out_channels, layer.in_channels / layer.groups, layer.kernel_size, layer.kernel_size}, site,
      "weight");
  layer.parameter_count = weight + (layer.bias ? layer.out_channels : 0);
  return {layer.out_channels, h, w};
}

Shape infer_pool2d(LayerSpec& layer, const Shape& in, const LayerSite& site) {
  require_image_input(in, site);
  // PyTorch's rule (padding <= kernel_size / 2): it keeps every window overlapping the real input.
  if (2 * layer.padding > layer.kernel_size) {
    throw site.error("padding", std::string(site.name) + " padding " + std::to_string(layer.padding) +
                                    " must be at most half of kernel_size " +
                                    std::to_string(layer.kernel_size));
  }
  const int64_t h = util::window_output_size(in[1], layer.kernel_size, layer.stride, layer.padding, 1);
  const int64_t w = util::window_output_size(in[2], layer.kernel_size, layer.stride, layer.padding, 1);
  if (h == 0 || w == 0) throw site.error(empty_output_message(site, in, layer));
  return {in[0], h, w};
}

Shape infer_batchnorm2d(LayerSpec& layer, const Shape& in, const LayerSite& site) {
  require_image_input(in, site);
  layer.num_features = agree(layer.num_features, in[0], "num_features", "channels", in, site);
  layer.parameter_count = 2 * layer.num_features;
  layer.buffer_count = 2 * layer.num_features + 1;
  return in;
}

Shape infer_linear(LayerSpec& layer, const Shape& in, const LayerSite& site) {
  if (in.size() != 1) {
    throw site.error("linear expects a 2-D input [N, features] but receives " + batch_shape_string(in) +
                     "; add a flatten layer before it");
  }
  layer.in_features = agree(layer.in_features, in[0], "in_features", "features", in, site);
  const int64_t weight = checked_numel({layer.out_features, layer.in_features}, site, "weight");
  layer.parameter_count = weight + (layer.bias ? layer.out_features : 0);
  return {layer.out_features};
}

Shape infer_layer(LayerSpec& layer, const Shape& in, const LayerSite& site) {
  assert(layer.stride > 0 && layer.padding >= 0 && layer.dilation > 0 && layer.groups > 0 &&
         "unchecked LayerSpec");
  layer.parameter_count = 0;
  layer.buffer_count = 0;
  switch (layer.type) {
    case LayerType::kConv2d:
      return infer_conv2d(layer, in, site);
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d:
      return infer_pool2d(layer, in, site);
    case LayerType::kBatchNorm2d:
      return infer_batchnorm2d(layer, in, site);
    case LayerType::kLinear:
      return infer_linear(layer, in, site);
    case LayerType::kReLU:
      return in;
    case LayerType::kFlatten:
      return {checked_numel(in, site, "output")};
  }
  throw site.error("unhandled layer type");
}

}  // namespace

std::string batch_shape_string(const Shape& sample_shape) {
  std::string out = "[N";
  for (const int64_t d : sample_shape) {
    out += ',';  // appended separately: `"," + std::to_string(d)` trips a false g++ 12 -Wrestrict warning
    out += std::to_string(d);
  }
  return out + "]";
}

void infer_shapes(ModelConfig& config) {
  if (config.layers.empty()) throw ConfigError(config.source, "/layers", "the model has no layers");
  Shape shape = config.input_shape;
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    LayerSpec& layer = config.layers[i];
    const LayerSite site{config.source, util::json_pointer_append("/layers", i), layer_json_name(layer.type)};
    layer.input_shape = shape;
    layer.output_shape = infer_layer(layer, shape, site);
    checked_numel(layer.output_shape, site, "output");
    shape = layer.output_shape;
  }
  if (shape.size() != 1) {
    const std::size_t last = config.layers.size() - 1;
    throw ConfigError(config.source, "/layers",
                      "the model must output [N, classes] but its last layer (" + std::to_string(last) +
                          ", " + layer_json_name(config.layers[last].type) + ") outputs " +
                          batch_shape_string(shape) + "; end the model with flatten and linear");
  }
}

}  // namespace qg::config
