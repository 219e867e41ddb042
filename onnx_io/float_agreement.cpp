#include "onnx_io/float_agreement.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "datasets/data_loader.h"
#include "onnx_io/onnx_error.h"
#include "onnx_io/onnx_runtime_process.h"

namespace qg::onnx_io {
namespace {

int64_t argmax(const float* row, int64_t n) {
  return std::max_element(row, row + n) - row;
}

}  // namespace

FloatAgreementReport compare_float_with_onnx_runtime(nn::Module& model, const std::string& onnx_path,
                                                     const data::MnistDataset& images, int64_t limit,
                                                     const AgreementOptions& options) {
  const int64_t n = limit < 0 ? images.size() : std::min(limit, images.size());
  FloatAgreementReport report;
  report.images = n;
  if (n == 0) return report;

  // quantgrad, batch by batch; the inputs are kept for ONNX Runtime.
  model.eval();
  NoGradGuard no_grad;
  std::vector<float> inputs, logits;
  std::vector<int64_t> labels, sample, classes;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < n; first += options.batch) {
    const data::Batch batch = data::make_batch(images, first, std::min(n, first + options.batch));
    const Tensor out = model.forward(batch.images).contiguous();
    const std::vector<float> in = batch.images.contiguous().to_vector(), o = out.to_vector();
    inputs.insert(inputs.end(), in.begin(), in.end());
    logits.insert(logits.end(), o.begin(), o.end());
    labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
    if (sample.empty()) {
      sample.assign(batch.images.shape().begin() + 1, batch.images.shape().end());
      classes.assign(out.shape().begin() + 1, out.shape().end());
    }
  }
  report.quantgrad_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), sample.begin(), sample.end());
  const OrtRun ort =
      run_onnx_runtime(onnx_path, inputs, shape, {.batch = options.batch, .threads = options.threads});
  report.ort_seconds = ort.seconds;
  report.onnxruntime_version = ort.version;
  const OrtOutput& out = ort.output("logits");
  std::vector<int64_t> expected{n};
  expected.insert(expected.end(), classes.begin(), classes.end());
  if (out.shape != expected) {
    throw OnnxError(onnx_path + ": output \"logits\" has shape " + nlohmann::json(out.shape).dump() +
                    ", quantgrad's is " + nlohmann::json(expected).dump());
  }
  const std::vector<float> theirs = out.floats();
  const int64_t k = static_cast<int64_t>(theirs.size()) / n;
  int64_t ours_right = 0, theirs_right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* a = logits.data() + i * k;
    const float* b = theirs.data() + i * k;
    for (int64_t j = 0; j < k; ++j)
      report.max_abs_difference =
          std::max(report.max_abs_difference, static_cast<double>(std::fabs(a[j] - b[j])));
    const int64_t pa = argmax(a, k), pb = argmax(b, k);
    report.argmax_equal += pa == pb;
    ours_right += pa == labels[i];
    theirs_right += pb == labels[i];
  }
  report.quantgrad_accuracy = static_cast<double>(ours_right) / n;
  report.ort_accuracy = static_cast<double>(theirs_right) / n;
  return report;
}

nlohmann::json FloatAgreementReport::to_json() const {
  return {{"images", images},
          {"argmax_equal", argmax_equal},
          {"argmax_agreement", argmax_agreement()},
          {"max_abs_difference", max_abs_difference},
          {"quantgrad_accuracy", quantgrad_accuracy},
          {"onnxruntime_accuracy", ort_accuracy},
          {"quantgrad_seconds", quantgrad_seconds},
          {"onnxruntime_seconds", ort_seconds},
          {"onnxruntime_version", onnxruntime_version}};
}

std::string FloatAgreementReport::text() const {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer,
                "ONNX Runtime %s against quantgrad's float model on %lld images:\n"
                "  logits: max |difference| %.3g\n"
                "  argmax agreement %.2f %% (%lld of %lld)\n"
                "  accuracy: quantgrad %.2f %%, ONNX Runtime %.2f %%\n",
                onnxruntime_version.c_str(), static_cast<long long>(images), max_abs_difference,
                100.0 * argmax_agreement(), static_cast<long long>(argmax_equal),
                static_cast<long long>(images), 100.0 * quantgrad_accuracy, 100.0 * ort_accuracy);
  return buffer;
}

}  // namespace qg::onnx_io
