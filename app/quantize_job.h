// The quantization jobs behind `train_qat`, `ptq` and `sweep`: float model -> QAT or PTQ -> freeze ->
// fake-quant evaluation -> convert -> integer-only evaluation -> model file and report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/experiment.h"
#include "app/training.h"
#include "quant/qat_model.h"
#include "runtime/model.h"

namespace qg::app {

enum class QuantMethod { Qat, Ptq };

/// The quant section of a config as QuantSettings (observer, bit widths, STE, per-channel weights).
quant::QuantSettings quant_settings(const config::QuantConfig& quant);

/// Integer-only evaluation of a runtime model on raw pixels.
struct IntegerEval {
  double accuracy = 0.0;
  std::vector<int64_t> predictions;
  double seconds = 0.0;
  double images_per_second = 0.0;
};
IntegerEval evaluate_integer(const runtime::Model& model, const data::MnistDataset& dataset, int64_t batch_size,
                             int threads, runtime::RequantMode mode = runtime::RequantMode::Integer);

/// Everything one quantization run measures.
struct QuantOutcome {
  int bits = 8;
  QuantMethod method = QuantMethod::Qat;
  double float_accuracy = 0.0;
  double fake_quant_accuracy = 0.0;  // the frozen fake-quant model
  IntegerEval integer;               // the converted integer-only model
  double agreement = 0.0;            // fraction of test images where integer and fake-quant predict alike
  double train_seconds = 0.0;        // QAT training or PTQ calibration
  double images_per_second = 0.0;
  runtime::Model model;
};

/// Quantizes `float_model` (which QAT trains further: pass a copy if the float weights must survive) with
/// the config's quant section. `float_accuracy` is only copied into the outcome.
QuantOutcome quantize_model(const config::ModelConfig& config, nn::Sequential& float_model, QuantMethod method,
                            const data::MnistDataset& train_set, const data::MnistDataset& test_set,
                            double float_accuracy, bool quiet);

/// The float model of a quantization run: loaded from `from` when given, else trained from scratch with the
/// config's train section (checkpoint saved to runs/<name>.ckpt).
struct FloatModel {
  std::shared_ptr<nn::Sequential> model;
  EvalStats test;
  std::string checkpoint;
};
FloatModel obtain_float_model(const config::ModelConfig& config, const std::optional<std::string>& from,
                              const data::MnistDataset& train_set, const data::MnistDataset& test_set, bool quiet);

struct QuantJob {
  QuantMethod method = QuantMethod::Qat;
  std::string config_path;
  Overrides overrides;                      // train/data section overrides (float training)
  std::optional<std::string> from;          // float checkpoint; trained first when absent
  std::optional<int64_t> bits, qat_epochs, ptq_batches;
  std::optional<double> qat_lr;
  std::optional<std::string> observer, ste;
  bool per_channel = false;
  std::optional<int64_t> threads;
  std::string out;                          // model file; "" = runs/<name>_<method>_int<bits>.qgm
  std::optional<std::string> report;
  bool quiet = false;
};

QuantOutcome run_quant_job(const QuantJob& job);

/// Applies the job's quant overrides to a config (and re-checks it).
config::ModelConfig apply_quant_overrides(config::ModelConfig config, const QuantJob& job);

}  // namespace qg::app
