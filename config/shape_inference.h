// Shape inference: walks the layers in order, as a forward pass would, but with no data.
//
// A layer reads the layers its "inputs" name (default: the layer before it), which must be listed above it,
// so the list is the order the model runs in; a config is a graph (a DAG) whose plain chains need no names.
// infer_shapes resolves the names to indices (LayerSpec::input_layers) and refuses an unknown name, a
// reference to a later layer (naming the cycle when there is one), a count of inputs the kind does not take,
// and a layer whose output no later layer reads (only the last layer's output leaves the model).
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

/// Fills the inferred fields of every layer of `config` (input_layers, shapes, sizes, counts) from
/// `config.input_shape`. Expects every field to
/// be in its documented range, as the loader guarantees (configs changed in code: use revalidate() in
/// config/loader.h, which calls this after checking them). Throws ConfigError
/// (prefixed with config.source, located at "/layers/<i>") when a layer cannot take its input, e.g.
///   /layers/5: linear expects a 2-D input [N, features] but receives [N,40,5,5]; add a flatten layer before
///   it
/// or when the graph is not well formed, e.g.
///   /layers/7/inputs/1: unknown layer name "blk2" (the named layers are "blk1", "stem"; "input" is the model
///   input)
///   /layers/9: add inputs must have the same shape: [N,16,14,14] from layer 6 ("blk1") and [N,32,7,7] ...
/// or when the model does not end in [N, classes].
void infer_shapes(ModelConfig& config);

}  // namespace qg::config
