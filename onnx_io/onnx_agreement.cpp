#include "onnx_io/onnx_agreement.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "onnx_io/onnx_error.h"
#include "onnx_io/onnx_runtime_process.h"
#include "runtime/run.h"

namespace qg::onnx_io {
namespace {

/// The normalised floats the exported graph's "input" takes: InputQuantize::normalize of every pixel.
std::vector<float> normalised(const runtime::Model& model, std::span<const uint8_t> pixels) {
  const int64_t sample = runtime::checked_numel(model.input.shape, "input");
  std::vector<float> values(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i)
    values[i] = model.input.normalize(pixels[i], model.input.channel_of(static_cast<int64_t>(i) % sample));
  return values;
}

/// runtime::run in batches, as app::evaluate_integer runs it (qinfer): the output codes of every sample.
runtime::IntTensor run_quantgrad(const runtime::Model& model, std::span<const uint8_t> pixels, int64_t n,
                                 const AgreementOptions& options, double& seconds) {
  const int64_t sample = runtime::checked_numel(model.input.shape, "input");
  runtime::IntTensor all;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < n; first += options.batch) {
    const int64_t count = std::min(options.batch, n - first);
    const runtime::IntTensor codes =
        runtime::run(model, runtime::quantize_pixels(model, pixels.subspan(first * sample, count * sample)),
                     {.threads = options.threads});
    if (all.shape.empty()) all.shape = codes.shape;
    all.data.insert(all.data.end(), codes.data.begin(), codes.data.end());
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!all.shape.empty()) all.shape[0] = n;
  return all;
}

void check_shape(const OrtOutput& out, const std::vector<int64_t>& expected, const std::string& onnx_path) {
  if (out.shape != expected) {
    throw OnnxError(onnx_path + ": output \"" + out.name + "\" has shape " +
                    nlohmann::json(out.shape).dump() + ", quantgrad's is " + nlohmann::json(expected).dump());
  }
}

}  // namespace

AgreementReport compare_with_onnx_runtime(const runtime::Model& model, const std::string& onnx_path,
                                          std::span<const uint8_t> pixels, std::span<const int64_t> labels,
                                          const AgreementOptions& options) {
  const int64_t sample = runtime::checked_numel(model.input.shape, "input");
  if (sample == 0 || pixels.size() % static_cast<size_t>(sample) != 0)
    throw std::invalid_argument("agreement: " + std::to_string(pixels.size()) +
                                " pixels are not whole samples of " + std::to_string(sample));
  const int64_t n = static_cast<int64_t>(pixels.size()) / sample;
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != n)
    throw std::invalid_argument("agreement: " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(n) + " images");
  AgreementReport report;
  report.images = n;
  if (n == 0) return report;
  const runtime::IntTensor ours = run_quantgrad(model, pixels, n, options, report.quantgrad_seconds);

  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), model.input.shape.begin(), model.input.shape.end());
  const OrtRun ort = run_onnx_runtime(onnx_path, normalised(model, pixels), shape,
                                      {.batch = options.batch, .threads = options.threads});
  report.ort_seconds = ort.seconds;
  report.onnxruntime_version = ort.version;
  const OrtOutput& codes_out = ort.output("codes");
  const OrtOutput& logits_out = ort.output("logits");
  check_shape(codes_out, ours.shape, onnx_path);
  check_shape(logits_out, ours.shape, onnx_path);
  runtime::IntTensor theirs{ours.shape, codes_out.ints()};
  const std::vector<float> logits = logits_out.floats();

  report.codes = ours.numel();
  for (size_t i = 0; i < ours.data.size(); ++i) {
    const int32_t d = std::abs(ours.data[i] - theirs.data[i]);
    report.max_code_difference = std::max(report.max_code_difference, d);
    if (d == 0)
      ++report.codes_equal;
    else if (d == 1)
      ++report.codes_off_by_one;
    else
      ++report.codes_off_more;
  }
  const std::vector<float> dequantized = runtime::dequantize(model, theirs);
  for (size_t i = 0; i < logits.size(); ++i)
    report.logits_max_error =
        std::max(report.logits_max_error, std::fabs(double{logits[i]} - dequantized[i]));

  // predict() needs a [N, K] tensor: any output is flattened per sample.
  const std::vector<int64_t> flat{n, ours.sample_size()};
  const std::vector<int64_t> ours_class = runtime::predict({flat, ours.data});
  const std::vector<int64_t> theirs_class = runtime::predict({flat, theirs.data});
  int64_t ours_right = 0, theirs_right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<size_t>(i);
    report.argmax_equal += ours_class[k] == theirs_class[k];
    if (!labels.empty()) {
      ours_right += ours_class[k] == labels[k];
      theirs_right += theirs_class[k] == labels[k];
    }
  }
  report.labelled = !labels.empty();
  report.quantgrad_accuracy = static_cast<double>(ours_right) / n;
  report.ort_accuracy = static_cast<double>(theirs_right) / n;
  return report;
}

AgreementReport compare_with_onnx_runtime(const runtime::Model& model, const std::string& onnx_path,
                                          const data::MnistDataset& images, int64_t limit,
                                          const AgreementOptions& options) {
  const int64_t n = limit < 0 ? images.size() : std::min(limit, images.size());
  const int64_t sample = images.pixels_per_image();
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  pixels.reserve(static_cast<size_t>(n * sample));
  for (int64_t i = 0; i < n; ++i) {
    pixels.insert(pixels.end(), images.image(i), images.image(i) + sample);
    labels.push_back(images.label(i));
  }
  return compare_with_onnx_runtime(model, onnx_path, pixels, labels, options);
}

nlohmann::json AgreementReport::to_json() const {
  nlohmann::json j = {{"images", images},
                      {"argmax_agreement", argmax_agreement()},
                      {"argmax_equal", argmax_equal},
                      {"codes", codes},
                      {"codes_equal", codes_equal},
                      {"codes_off_by_one", codes_off_by_one},
                      {"codes_off_more", codes_off_more},
                      {"max_code_difference", max_code_difference},
                      {"logits_max_error", logits_max_error},
                      {"quantgrad_seconds", quantgrad_seconds},
                      {"onnxruntime_seconds", ort_seconds},
                      {"onnxruntime_version", onnxruntime_version}};
  if (labelled) {
    j["quantgrad_accuracy"] = quantgrad_accuracy;
    j["onnxruntime_accuracy"] = ort_accuracy;
  }
  return j;
}

std::string AgreementReport::text() const {
  char buffer[512];
  std::string s;
  std::snprintf(buffer, sizeof buffer, "Argmax agreement: %.3f%% (%lld of %lld images)\n",
                100.0 * argmax_agreement(), static_cast<long long>(argmax_equal),
                static_cast<long long>(images));
  s += buffer;
  std::snprintf(
      buffer, sizeof buffer,
      "Output codes: %lld equal, %lld differ by 1, %lld differ by more (largest difference %d) of %lld\n",
      static_cast<long long>(codes_equal), static_cast<long long>(codes_off_by_one),
      static_cast<long long>(codes_off_more), max_code_difference, static_cast<long long>(codes));
  s += buffer;
  if (labelled) {
    std::snprintf(buffer, sizeof buffer, "Accuracy: quantgrad %.2f%%, ONNX Runtime %.2f%%\n",
                  100.0 * quantgrad_accuracy, 100.0 * ort_accuracy);
    s += buffer;
  }
  std::snprintf(buffer, sizeof buffer, "Time: quantgrad runtime %.3f s, ONNX Runtime %s %.3f s\n",
                quantgrad_seconds, onnxruntime_version.c_str(), ort_seconds);
  return s + buffer;
}

}  // namespace qg::onnx_io
