// Does ONNX Runtime compute what quantgrad's integer runtime computes? Runs one model both ways on the same
// images and counts the differences: the argmax (the predicted class), every output code, and the accuracy
// of each against the labels. This is the check behind `qexport --check` and the ONNX tests (issue 15, part 3).
//
// quantgrad's side runs runtime::run on the pixels exactly as qinfer does (quantize_pixels, integer
// requantization); ONNX Runtime's side gets the normalised floats x = (p / 255 - mean[c]) / std[c]
// (runtime::InputQuantize::normalize, the values the exported graph's "input" expects) through
// onnx_runtime_process.h. The expected difference is one code at requantization ties (export_integer.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/mnist.h"
#include "runtime/model.h"

namespace qg::onnx_io {

struct AgreementOptions {
  int64_t batch = 64;  ///< samples per ONNX Runtime session.run and per runtime::run call
  int threads = 1;     ///< threads of each side
};

struct AgreementReport {
  int64_t images = 0;
  int64_t argmax_equal = 0;      ///< images whose predicted class is the same on both sides
  int64_t codes = 0;             ///< output codes compared (images * outputs per image)
  int64_t codes_equal = 0;       ///< ... identical
  int64_t codes_off_by_one = 0;  ///< ... differing by exactly 1
  int64_t codes_off_more = 0;    ///< ... differing by more than 1
  int32_t max_code_difference = 0;
  double logits_max_error = 0;  ///< max |ORT logit - S (ORT code - Z)|: the "logits" output is the codes'
  bool labelled = false;        ///< accuracies are meaningful
  double quantgrad_accuracy = 0;
  double ort_accuracy = 0;
  double quantgrad_seconds = 0;  ///< runtime::run, all batches
  double ort_seconds = 0;        ///< inside ONNX Runtime, all batches (session creation excluded)
  std::string onnxruntime_version;

  /// argmax_equal / images, in [0, 1] (1 for no images).
  double argmax_agreement() const { return images ? static_cast<double>(argmax_equal) / images : 1.0; }
  /// argmax_agreement() >= min_agreement and no code differs by more than 1.
  bool passes(double min_agreement) const {
    return argmax_agreement() >= min_agreement && codes_off_more == 0;
  }
  nlohmann::json to_json() const;
  /// A few lines for a human.
  std::string text() const;
};

/// Runs `model` (quantgrad) and the ONNX file `onnx_path` (its export, ONNX Runtime) on `pixels` (N whole
/// samples laid out like model.input.shape, uint8) and compares them. `labels` has N entries (accuracies
/// reported) or none. Throws std::invalid_argument for pixels that are not whole samples or a wrong label
/// count, OnnxError when ONNX Runtime is missing (... run scripts/get-ort) or refuses the file, or when its
/// outputs "codes" and "logits" do not have quantgrad's output shape.
AgreementReport compare_with_onnx_runtime(const runtime::Model& model, const std::string& onnx_path,
                                          std::span<const uint8_t> pixels, std::span<const int64_t> labels,
                                          const AgreementOptions& options = {});

/// The same on the first `limit` images of `images` (all of them for limit < 0), with their labels.
AgreementReport compare_with_onnx_runtime(const runtime::Model& model, const std::string& onnx_path,
                                          const data::MnistDataset& images, int64_t limit = -1,
                                          const AgreementOptions& options = {});

}  // namespace qg::onnx_io
