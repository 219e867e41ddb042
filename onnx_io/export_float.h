// The float model of a config as plain ONNX (opset 13): what quantgrad trained, in the interchange format
// that ONNX Runtime, TensorRT and PyTorch's importers read. docs/onnx.md, "Float export", lists the mapping:
//
//   conv2d -> Conv          relu -> Relu                     relu6 -> Clip(0, 6)
//   maxpool2d -> MaxPool    avgpool2d -> AveragePool (count_include_pad=1, PyTorch's default)
//   batchnorm2d -> BatchNormalization (inference: the running statistics)
//   linear -> Gemm (transB=1: the weight stays [out, in] as in PyTorch)
//   flatten -> Flatten      global_avgpool -> GlobalAveragePool   add -> Add   concat -> Concat (axis 1)
//   dropout -> nothing (the identity at inference)
//
// The graph has one input "input", float32 [N, C, H, W] (normalised values, as the float model sees them),
// and one output "logits", float32 [N, classes]; graph configs (layers with "name"/"inputs") become the same
// DAG. Tensor names follow the model state ("0.weight", "3.running_mean"), node names the layer ("0_conv2d").
#pragma once

#include <string>

#include "config/model_config.h"
#include "nn/layers/graph.h"

namespace qg::onnx_io {

/// Writes `model` (built from `config` by config::build_model, any weights) to `out_path` as ONNX, checked by
/// ONNX's checker, atomically. Throws OnnxError naming out_path if the checker refuses the graph.
void export_float_model(const config::ModelConfig& config, const nn::Graph& model,
                        const std::string& out_path);

/// The same for a float checkpoint written by `train` (tensors "model.<name>", metadata kind "float" and the
/// config's name): loads it into config's model, then exports. Throws nn::CheckpointError for a checkpoint that
/// does not fit the config, OnnxError as above.
void export_float(const config::ModelConfig& config, const std::string& checkpoint_path,
                  const std::string& out_path);

}  // namespace qg::onnx_io
