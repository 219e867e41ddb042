// A float ONNX model in: a quantgrad config plus a float checkpoint, so that a network trained in PyTorch
// (exported with torch.onnx.export) can be quantized by ptq, fine-tuned by train_qat, or evaluated by the
// other tools as if `train` had written it. docs/onnx.md, "Import", lists what maps to what:
//
//   Conv -> conv2d (square kernel, equal strides, pads and dilations, any group)
//   Relu -> relu            Clip(0, 6) -> relu6 (Clip(0, inf) -> relu)
//   MaxPool -> maxpool2d    AveragePool -> avgpool2d (count_include_pad=1, or no padding); a Pad with zeros
//                           on H and W right before an AveragePool is its padding (torch exports
//                           AvgPool2d(padding=p) so)
//   GlobalAveragePool -> global_avgpool
//   BatchNormalization -> batchnorm2d (its scale, bias, running mean and variance; eps; momentum = 1 - ONNX's)
//   Flatten (axis 1) and Reshape to a constant [-1, F] or [N, F] -> flatten
//   Gemm (alpha = beta = 1, transA = 0; transB = 1, or 0 with the weight transposed) -> linear
//   MatMul by a constant [in, out], optionally followed by Add of a constant [out] -> linear
//   Add of two computed values -> add     Concat on axis 1 -> concat
//   Identity, Dropout (inference: the identity) and Constant -> no layer
//
// Anything else is refused with one line naming the file, the node (index, name), its op type and the
// attribute or value that does not fit, e.g.
//   net.onnx: node 2 "/pool/MaxPool" (MaxPool): attribute ceil_mode = 1 is not supported (expected 0: ...)
//
// Reading is defensive (docs/ROBUSTNESS.md): the file is size-bounded, every tensor's dims are checked against
// the data actually present before anything is allocated, external data is refused (never opened), names
// must be unique and every value made before it is used (so a cycle is refused), weights must be finite, the
// opset must be 7..17, and ONNX's checker runs as well. Every refusal is an OnnxError.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.h"
#include "nn/checkpoint.h"

namespace qg::onnx_io {

struct ImportOptions {
  /// The config's "name" (and the checkpoint's metadata "config"); empty: the file name without its folder
  /// and extension.
  std::string name;
  /// The config's data.dataset: "mnist" or "fashion-mnist" (its root is the dataset's default).
  std::string dataset = "mnist";
};

/// Where one config layer came from: its ONNX node(s), e.g. `node 0 "/conv1/Conv" (Conv)`.
struct ImportedLayer {
  std::string kind;    ///< the config layer type, e.g. "conv2d"
  std::string origin;  ///< the ONNX nodes it was made from
};

struct ImportedModel {
  /// Checked by config::parse_config (every shape inferred); train/quant sections are the defaults.
  config::ModelConfig config;
  /// config_to_json(config): what qimport writes.
  nlohmann::json config_json;
  /// The float model's state as `train` saves it: "model.<name>" for every parameter and buffer of
  /// config::build_model(config) (BatchNorm's num_batches_tracked = 0), "optimizer.<name>" for the initial
  /// state of the config's optimizer, metadata {"kind": "float", "config": config.name, "seed", "epoch": 0,
  /// "imported_from": the ONNX file}: ptq/train_qat --from take it, and train --resume fine-tunes from it.
  nn::Checkpoint checkpoint;
  /// One per config layer, in order.
  std::vector<ImportedLayer> layers;
};

/// Reads the ONNX file `onnx_path` (at most kMaxOnnxFileBytes) and maps it. Throws OnnxError.
ImportedModel import_float(const std::string& onnx_path, const ImportOptions& options = {});

/// The same for the bytes of an ONNX file; `what` names it in messages (and is the default name's source).
ImportedModel import_float_bytes(std::string_view bytes, const std::string& what,
                                 const ImportOptions& options = {});

}  // namespace qg::onnx_io
