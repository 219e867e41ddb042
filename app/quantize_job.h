// The quantization jobs behind `train_qat`, `ptq` and `sweep`: float model -> QAT or PTQ -> freeze ->
// fake-quant evaluation -> convert -> integer-only evaluation -> model file and report.
//
// QAT is checkpointed like float training: a "qat" training checkpoint after every QAT epoch (and every N
// steps if asked) holds the QAT model's state, the optimizer's, and every observer's (QuantPoint) state, so
// that `train_qat --resume` continues exactly where the run stopped.
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

/// Integer-only evaluation of a runtime model on raw pixels.
struct IntegerEval {
  double accuracy = 0.0;
  std::vector<int64_t> predictions;
  double seconds = 0.0;
  double images_per_second = 0.0;
};
IntegerEval evaluate_integer(const runtime::Model& model, const data::MnistDataset& dataset,
                             int64_t batch_size, int threads,
                             runtime::RequantMode mode = runtime::RequantMode::Integer);

/// Everything one quantization run measures.
struct QuantOutcome {
  int bits = 8;
  QuantMethod method = QuantMethod::Qat;
  double float_accuracy = 0.0;
  double fake_quant_accuracy = 0.0;    // the frozen fake-quant model
  IntegerEval integer;                 // the converted integer-only model
  double agreement = 0.0;              // fraction of test images where integer and fake-quant predict alike
  double train_seconds = 0.0;          // QAT training or PTQ calibration
  std::vector<double> qat_epoch_loss;  // mean training loss of each QAT epoch finished in this run
  double images_per_second = 0.0;
  DataParallelTraffic data_parallel;  // QAT under mpirun: the all-reduces' time, bytes and calls
  runtime::Model model;
  std::string quant_method;  // the method that found the grids (PTQ: an observer method)
  nlohmann::json layers = nlohmann::json::array();       // each conv/linear layer's method and bit widths
  nlohmann::json inspection = nlohmann::json::object();  // --inspect: {"epochs": [...], "frozen": [...]}
};

/// How quantize_model checkpoints QAT (PTQ ignores it). The default saves nothing, as `sweep` runs it.
struct QatCheckpointing {
  std::string path;                        // "" = no checkpoints
  int64_t every = 0;                       // also every N optimizer steps
  const nn::Checkpoint* resume = nullptr;  // a "qat" checkpoint to continue from (load_checkpoint'ed)
  std::string resume_path;                 // its path, for messages
  nlohmann::json metadata = nlohmann::json::object();  // extra metadata to save (the float model's accuracy)
  StepHook on_step;      // called after every QAT step, after any step checkpoint
  bool inspect = false;  // also (QAT and PTQ): collect and print the quantizers' statistics (app/inspect.h)
};

/// Quantizes `float_model` (which QAT trains further: pass a copy if the float weights must survive) with
/// the config's quant section. `float_accuracy` is only copied into the outcome. PTQ calibrates observers:
/// under a learned method (lsq, binary) it uses ema's observers instead (ptq_config).
QuantOutcome quantize_model(const config::ModelConfig& config, nn::Graph& float_model, QuantMethod method,
                            const data::MnistDataset& train_set, const data::MnistDataset& test_set,
                            double float_accuracy, bool quiet, const QatCheckpointing& checkpointing = {});

/// checkpoint_metadata("qat", ...) plus "quant": the quant settings a resumed run must share (bits,
/// observer, per-channel, ...). save_qat_checkpoint adds "observers".
nlohmann::json qat_checkpoint_metadata(const config::ModelConfig& config, const TrainingProgress& progress,
                                       int64_t train_images);
/// A "qat" training checkpoint: the QAT model's state under "model.", the optimizer's under "optimizer.",
/// each quantization point's observer state in metadata["observers"]["<layer>.<point>"] (e.g. "0.weight")
/// with its bulk values, if any, in the tensor "observer.<layer>.<point>". Rank 0 alone writes it in a
/// data-parallel run.
void save_qat_checkpoint(const std::string& path, quant::QatModel& model, const nn::Optimizer& optimizer,
                         const nlohmann::json& metadata);
/// Checks that `checkpoint` is a "qat" checkpoint saved from `config`'s name and quant settings (bits,
/// observer, per-channel, ...): what restore_qat_checkpoint checks before touching the model.
/// Throws nn::CheckpointError naming `path` and the first difference.
void check_qat_checkpoint(const nn::Checkpoint& checkpoint, const std::string& path,
                          const config::ModelConfig& config);
/// Restores what save_qat_checkpoint saved into a QAT model built from the same config and settings (strict:
/// every tensor and observer must be there, and nothing else), after check_qat_checkpoint. Throws
/// nn::CheckpointError naming `path`.
void restore_qat_checkpoint(const nn::Checkpoint& checkpoint, const std::string& path,
                            const config::ModelConfig& config, quant::QatModel& model,
                            const nn::Optimizer& optimizer);

/// The float model of a quantization run: loaded from `from` when given, else trained from scratch with the
/// config's train section (checkpoint saved to `runs/<name>.ckpt`).
struct FloatModel {
  std::shared_ptr<nn::Graph> model;
  EvalStats test;
  std::string checkpoint;
};
/// How obtain_float_model trains when there is no `from`.
struct FloatPhase {
  std::optional<std::string> resume;  // a "float" checkpoint of this float training to continue (and to keep
                                      // saving to, instead of runs/<name>.ckpt)
  int64_t checkpoint_every = 0;
  StepHook on_step;
};
FloatModel obtain_float_model(const config::ModelConfig& config, const std::optional<std::string>& from,
                              const data::MnistDataset& train_set, const data::MnistDataset& test_set,
                              bool quiet, const FloatPhase& phase = {});

struct QuantJob {
  QuantMethod method = QuantMethod::Qat;
  std::string config_path;
  Overrides overrides;                // train/data section overrides (float training)
  std::optional<std::string> from;    // float checkpoint; trained first when absent
  std::optional<std::string> resume;  // QAT: a "qat" checkpoint, or a "float" one of the float phase
  std::string checkpoint;             // QAT checkpoint; "" = the --resume one if it is a QAT checkpoint,
                                      // else the model path with extension .qat.ckpt
  int64_t checkpoint_every = 0;       // also checkpoint every N optimizer steps
  StepHook on_step;                   // called after every training step (tests)
  std::optional<int64_t> bits, qat_epochs, ptq_batches;
  std::optional<int64_t> input_bits, first_layer_bits, last_layer_bits;
  std::optional<double> qat_lr, weight_decay, warmup_epochs;
  std::optional<std::string> quant_method;  // --method: tutorial, ema, lsq, binary
  std::optional<std::string> observer, ste, lr_schedule, qat_optimizer;
  std::optional<int64_t> freeze_bn_epoch, freeze_observers_epoch;  // config::QuantConfig::kNever = never
  std::optional<bool> per_channel;                                 // --per-channel / --per-tensor
  bool inspect = false;  // print and report the quantizers' statistics (app/inspect.h)
  std::optional<int64_t> threads;
  std::string out;  // model file; "" = runs/<name>_<method>_int<bits>.qgm
  std::optional<std::string> report;
  bool quiet = false;
};

QuantOutcome run_quant_job(const QuantJob& job);

/// The config PTQ runs: `config` itself under an observer method (tutorial, ema); under a learned one (lsq,
/// binary), which has nothing to calibrate, the same widths with method ema.
config::ModelConfig ptq_config(config::ModelConfig config);

/// One line per conv/linear layer: its method and bit widths ("layer 0 (conv2d): lsq, weights 2-bit, ...").
std::string quant_plan_text(const config::ModelConfig& config);

/// Where QAT checkpoints go when --checkpoint is not given: `model_path` with the extension .qat.ckpt.
std::string default_qat_checkpoint(const std::string& model_path);

/// Applies the job's quant overrides to a config (and re-checks it).
config::ModelConfig apply_quant_overrides(config::ModelConfig config, const QuantJob& job);

}  // namespace qg::app
