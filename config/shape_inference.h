// Shape inference: walks the layer list with a running shape, as a forward pass would, but with no data.
//
// For every layer it records the input and output shape (without the batch axis), fills in what the
// config may leave out (conv2d in_channels, batchnorm2d num_features, linear in_features; if given, they
// must agree with the running shape) and counts parameters and buffers. Each kind's formulas (PyTorch's;
// docs/config.md section 3) are in its row of config/layer_kinds.cpp (LayerKind::infer).
//
// Nothing here needs a forward pass, so configs can be checked (and summarised) without running a model.
#pragma once

#include "config/layer_site.h"
#include "config/model_config.h"

namespace qg::config {

/// Fills the inferred fields of every layer of `config` from `config.input_shape`. Expects every field to
/// be in its documented range, as the loader guarantees (configs changed in code: use revalidate() in
/// config/loader.h, which calls this after checking them). Throws ConfigError
/// (prefixed with config.source, located at "/layers/<i>") when a layer cannot take its input, e.g.
///   /layers/5: linear expects a 2-D input [N, features] but receives [N,40,5,5]; add a flatten layer before
///   it
/// or when the model does not end in [N, classes].
void infer_shapes(ModelConfig& config);

}  // namespace qg::config
