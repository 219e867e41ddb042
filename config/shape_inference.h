// Shape inference: walks the layer list with a running shape, as a forward pass would, but with no data.
//
// For every layer it records the input and output shape (without the batch axis), fills in what the
// config may leave out (conv2d in_channels, batchnorm2d num_features, linear in_features; if given, they
// must agree with the running shape) and counts parameters and buffers. The formulas are PyTorch's:
//
//   conv2d:    H_out = floor((H + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1
//              params = out_channels * (in_channels/groups) * kernel_size^2 + out_channels (bias)
//   pooling:   H_out = floor((H + 2*padding - kernel_size) / stride) + 1, padding <= kernel_size/2
//   batchnorm: params = 2*C (weight, bias); buffers = 2*C + 1 (running_mean, running_var,
//              num_batches_tracked)
//   linear:    params = out_features * in_features + out_features (bias)
//   flatten:   [C, H, W] -> [C*H*W]
//
// Nothing here needs a forward pass, so configs can be checked (and summarised) without running a model.
#pragma once

#include "config/model_config.h"

namespace qg::config {

/// The largest tensor (per sample for activations) a config may describe: 2^28 elements (1 GiB of floats),
/// the most the integer runtime takes for one tensor (runtime::kMaxElements, kept equal by
/// tests/app/quantizable_layouts_test.cpp), so that every model that trains can also be quantized.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 28;

/// The largest kernel_size, stride, padding or dilation a config may give: 2^30, the integer runtime's
/// window limit (runtime/window2d.h; the same test keeps them equal).
inline constexpr int64_t kMaxWindowSize = int64_t{1} << 30;

/// Fills the inferred fields of every layer of `config` from `config.input_shape`. Expects every field to
/// be in its documented range, as the loader guarantees (configs changed in code: use revalidate() in
/// config/loader.h, which calls this after checking them). Throws ConfigError
/// (prefixed with config.source, located at "/layers/<i>") when a layer cannot take its input, e.g.
///   /layers/5: linear expects a 2-D input [N, features] but receives [N,40,5,5]; add a flatten layer before
///   it
/// or when the model does not end in [N, classes].
void infer_shapes(ModelConfig& config);

/// "[N,40,5,5]": a per-sample shape with the batch axis shown as N, for messages.
std::string batch_shape_string(const Shape& sample_shape);

}  // namespace qg::config
