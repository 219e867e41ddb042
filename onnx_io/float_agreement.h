// Does ONNX Runtime compute what quantgrad's float model computes? Runs a float model (a config and its
// checkpoint) and its plain-ONNX export (export_float.h) on the same images and compares the logits: the
// largest absolute difference, the argmax agreement and both accuracies. The check behind `qexport --float
// --check` (issue 15, part 3: the float export must match within 1e-4).
//
// Both sides get the same normalised floats (data::make_batch: x = (p / 255 - mean) / std); quantgrad's model
// runs in eval mode without recording a graph. The remaining differences are float summation order (im2col
// GEMM here, ONNX Runtime's own convolution there): about 1e-7 of the logits' size.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/mnist.h"
#include "nn/module.h"
#include "onnx_io/onnx_agreement.h"

namespace qg::onnx_io {

struct FloatAgreementReport {
  int64_t images = 0;
  int64_t argmax_equal = 0;       ///< images whose predicted class is the same on both sides
  double max_abs_difference = 0;  ///< max |quantgrad logit - ONNX Runtime logit| over every logit
  double quantgrad_accuracy = 0;  ///< against the labels, in [0, 1]
  double ort_accuracy = 0;
  double quantgrad_seconds = 0;  ///< the float model's forward passes, all batches
  double ort_seconds = 0;        ///< inside ONNX Runtime, all batches (session creation excluded)
  std::string onnxruntime_version;

  double argmax_agreement() const { return images ? static_cast<double>(argmax_equal) / images : 1.0; }
  /// max_abs_difference <= tolerance.
  bool passes(double tolerance) const { return max_abs_difference <= tolerance; }
  nlohmann::json to_json() const;
  /// A few lines for a human.
  std::string text() const;
};

/// Runs `model` (built from a config, with its weights; switched to eval mode here) and the ONNX file
/// `onnx_path` on the first `limit` images of `images` (all for limit < 0) and compares the logits. Throws
/// OnnxError when ONNX Runtime is missing (... run scripts/get-ort) or refuses the file, or when its output
/// "logits" does not have the model's output shape.
FloatAgreementReport compare_float_with_onnx_runtime(nn::Module& model, const std::string& onnx_path,
                                                     const data::MnistDataset& images, int64_t limit = -1,
                                                     const AgreementOptions& options = {});

}  // namespace qg::onnx_io
