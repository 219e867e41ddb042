#include "app/quantize_job.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/data_parallel.h"
#include "app/distributed.h"
#include "app/file_roles.h"
#include "app/flags.h"
#include "app/inspect.h"
#include "app/qat_recipe.h"
#include "app/report.h"
#include "app/train_job.h"
#include "app/training_batches.h"
#include "autograd/grad_mode.h"
#include "config/builder.h"
#include "config/layer_kind.h"
#include "config/loader.h"
#include "config/quant_recipe.h"
#include "config/summary.h"
#include "quant/convert.h"
#include "runtime/model_file.h"
#include "runtime/run.h"

namespace qg::app {

IntegerEval evaluate_integer(const runtime::Model& model, const data::MnistDataset& dataset,
                             int64_t batch_size, int threads, runtime::RequantMode mode) {
  IntegerEval eval;
  int64_t correct = 0;
  const auto start = std::chrono::steady_clock::now();
  const int64_t pixels = dataset.pixels_per_image();
  for (int64_t begin = 0; begin < dataset.size(); begin += batch_size) {
    const int64_t n = std::min(batch_size, dataset.size() - begin);
    const std::span<const uint8_t> batch(dataset.image(begin), static_cast<size_t>(n * pixels));
    const runtime::IntTensor logits =
        runtime::run(model, runtime::quantize_pixels(model, batch), {.mode = mode, .threads = threads});
    const std::vector<int64_t> predicted = runtime::predict(logits);
    for (int64_t i = 0; i < n; ++i)
      correct += predicted[i] == dataset.label(begin + i);
    eval.predictions.insert(eval.predictions.end(), predicted.begin(), predicted.end());
  }
  eval.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  eval.accuracy = dataset.size() ? static_cast<double>(correct) / dataset.size() : 0.0;
  eval.images_per_second = eval.seconds > 0 ? dataset.size() / eval.seconds : 0.0;
  return eval;
}

namespace {

const char* method_name(QuantMethod m) {
  return m == QuantMethod::Qat ? "qat" : "ptq";
}

// PTQ calibration, the tutorial's direct_quantize(): eval mode (BN uses running statistics), observers on,
// `batches` training batches through the fake-quant model.
double calibrate(quant::QatModel& model, const data::DataLoader& loader, int64_t batches, int64_t& images) {
  model.eval();
  model.set_observing(true);
  NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  int64_t seen = 0;
  for (const data::Batch& batch : loader.epoch(0)) {
    model(batch.images);
    images += batch.size();
    if (++seen >= batches) break;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The quant settings that shape the QAT model, its quantizers and its training: a resumed run must use the
// same ones. The resolved recipe, so that a default that changes between versions is noticed too.
nlohmann::json quant_identity(const config::ModelConfig& config) {
  nlohmann::json identity = config::resolve_quant(config.quant).to_json();
  identity.erase("ptq_batches");  // PTQ only
  identity.erase("qat_epochs");   // a run may be continued for more epochs
  identity["layers"] = nlohmann::json::array();
  for (const config::LayerQuantRecipe& layer : config::resolve_layer_quant(config)) {
    identity["layers"].push_back(layer.to_json());
  }
  return identity;
}

nn::CheckpointError checkpoint_error(const std::string& path, const std::string& what) {
  return nn::CheckpointError("checkpoint: " + path + ": " + what);
}

// Every quantization point of a QAT model by its checkpoint name "<layer>.<point>", e.g. "0.weight".
std::vector<quant::NamedQuantPoint> named_points(quant::QatModel& model) {
  std::vector<quant::NamedQuantPoint> points;
  for (size_t i = 0; i < model.layers().size(); ++i) {
    for (auto& [name, point] : model.layers()[i]->quant_points())
      points.emplace_back(std::to_string(i) + "." + name, point);
  }
  return points;
}

// The QAT epoch loop: observers on (until the recipe freezes them), the recipe's optimizer and learning-rate
// schedule through the fake-quantizers, BatchNorm statistics frozen from the recipe's epoch, with checkpoints
// and resume as for float training. Every per-epoch state (frozen or not, the learning rate) is a function of
// the epoch and step, so a resumed run takes exactly the steps of the uninterrupted one.
void train_qat_epochs(const config::ModelConfig& config, quant::QatModel& qat, const data::DataLoader& loader,
                      bool quiet, const QatCheckpointing& ck, QuantOutcome& outcome, int64_t& images) {
  const config::QuantRecipe recipe = config::resolve_quant(config.quant);
  auto optimizer = make_qat_optimizer(recipe, qat);
  const nn::LrSchedule schedule = qat_lr_schedule(recipe, loader.size());
  TrainingProgress progress;
  std::string last_good = "none: nothing was saved yet";
  if (ck.resume) {
    restore_qat_checkpoint(*ck.resume, ck.resume_path, config, qat, *optimizer);
    progress = resume_progress(*ck.resume, ck.resume_path, config, loader.dataset().size(), loader.size());
    last_good = ck.resume_path;
    std::printf("Resumed QAT from %s at epoch %lld, batch %lld (step %lld)\n", ck.resume_path.c_str(),
                static_cast<long long>(progress.epoch), static_cast<long long>(progress.batches_done),
                static_cast<long long>(progress.step));
  }
  const auto save = [&](const TrainingProgress& p) {
    if (ck.path.empty()) return;
    nlohmann::json metadata = qat_checkpoint_metadata(config, p, loader.dataset().size());
    metadata.update(ck.metadata);
    save_qat_checkpoint(ck.path, qat, *optimizer, metadata);
    last_good = ck.path + " (after step " + std::to_string(p.step) + ")";
  };
  const StepHook after_step = [&](const TrainingProgress& p, float loss, nn::Module& trained) {
    const bool epoch_end = p.batches_done == loader.size();
    if (ck.every > 0 && p.step % ck.every == 0 && !epoch_end) save(p);
    if (ck.on_step) ck.on_step(p, loss, trained);
  };
  const BeforeStepHook before_step = [&](const TrainingProgress& p) {
    optimizer->set_learning_rate(schedule.lr_at(p.step));
  };
  if (!ck.path.empty()) remove_stale_temp_files(ck.path);
  while (progress.epoch <= config.quant.qat_epochs) {
    const bool observers_frozen = observers_frozen_in(recipe, progress.epoch);
    qat.set_observing(!observers_frozen);
    qat.set_bn_frozen(bn_frozen_in(recipe, progress.epoch));
    if (ck.inspect) start_inspection_epoch(qat);
    EpochStats stats;
    try {
      stats =
          train_epoch(qat, *optimizer, loader, progress,
                      {.title = "Quantize Aware Training Epoch", .quiet = quiet}, after_step, before_step);
    } catch (const TrainingDiverged& e) {
      throw TrainingDiverged(std::string(e.what()) + "; the last good checkpoint is " + last_good);
    }
    outcome.train_seconds += stats.seconds;
    outcome.data_parallel.add(stats.data_parallel);
    outcome.qat_epoch_loss.push_back(stats.mean_loss);
    if (ck.inspect) {
      outcome.inspection["epochs"].push_back({{"epoch", progress.epoch}, {"layers", inspection_json(qat)}});
      if (!quiet) {
        std::printf("%s", inspection_table(qat, "Inspection, QAT epoch " + std::to_string(progress.epoch) +
                                                    " (grids moving while measured):")
                              .c_str());
      }
    }
    images += stats.images;
    progress = progress.next_epoch();
    save(progress);
  }
}

double agreement(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i)
    same += a[i] == b[i];
  return static_cast<double>(same) / a.size();
}

}  // namespace

std::string quant_plan_text(const config::ModelConfig& config) {
  std::vector<std::string> lines(config.layers.size());
  for (const config::LayerQuantRecipe& r : config::resolve_layer_quant(config)) {
    const std::string input = r.first ? ", input " + std::to_string(r.input_bits) + "-bit" : "";
    char line[160];
    std::snprintf(line, sizeof line, "  layer %zu (%s): %s, weights %lld-bit, output %lld-bit%s\n", r.layer,
                  config.layers[r.layer].kind->name.c_str(), r.method.c_str(),
                  static_cast<long long>(r.weight_bits), static_cast<long long>(r.activation_bits),
                  input.c_str());
    lines[r.layer] = line;
  }
  // A graph's adds and concats quantize their outputs too (with the settings of the conv/linear before them).
  const std::vector<quant::QuantSettings> settings = layer_settings(config);
  for (size_t i = 0; i < config.layers.size(); ++i) {
    const std::string& kind = config.layers[i].kind->name;
    if (kind != "add" && kind != "concat") continue;
    char line[160];
    std::snprintf(line, sizeof line, "  layer %zu (%s): %s, output %d-bit\n", i, kind.c_str(),
                  quant::qat_method_name(settings[i].method), settings[i].activation.bits);
    lines[i] = line;
  }
  std::string out;
  for (const std::string& line : lines)
    out += line;
  return out;
}

config::ModelConfig ptq_config(config::ModelConfig config) {
  const auto learned = [](const std::string& m) { return m == "lsq" || m == "binary"; };
  if (learned(config.quant.method)) config.quant.method = "ema";
  for (config::LayerSpec& layer : config.layers) {
    if (layer.quant.method && learned(*layer.quant.method)) layer.quant.method = "ema";
  }
  return config;
}

std::string default_qat_checkpoint(const std::string& model_path) {
  std::filesystem::path path(model_path);
  path.replace_extension(".qat.ckpt");  // never `train --out`'s net.ckpt, the float model QAT starts from
  return path.string() == model_path ? model_path + ".qat.ckpt" : path.string();
}

nlohmann::json qat_checkpoint_metadata(const config::ModelConfig& config, const TrainingProgress& progress,
                                       int64_t train_images) {
  nlohmann::json metadata = checkpoint_metadata("qat", config, progress, train_images);
  metadata["quant"] = quant_identity(config);
  return metadata;
}

void save_qat_checkpoint(const std::string& path, quant::QatModel& model, const nn::Optimizer& optimizer,
                         const nlohmann::json& metadata) {
  if (!distributed::world().is_writer()) return;  // one writer in a data-parallel run: rank 0
  nn::Checkpoint checkpoint;
  for (auto& [name, t] : model.state())
    checkpoint.tensors.emplace_back("model." + name, t);
  for (auto& [name, t] : optimizer.state())
    checkpoint.tensors.emplace_back("optimizer." + name, t);
  nlohmann::json observers = nlohmann::json::object();
  for (const auto& [name, point] : named_points(model)) {
    const quant::ObserverState state = point->state();
    observers[name] = state.scalars;
    if (!state.values.empty()) {
      checkpoint.tensors.emplace_back(
          "observer." + name, Tensor::from_vector(state.values, {static_cast<int64_t>(state.values.size())}));
    }
  }
  checkpoint.metadata = metadata;
  checkpoint.metadata["observers"] = observers;
  nn::save_checkpoint(path, checkpoint);
}

void check_qat_checkpoint(const nn::Checkpoint& checkpoint, const std::string& path,
                          const config::ModelConfig& config) {
  const nlohmann::json& m = checkpoint.metadata;
  if (metadata_string(m, "kind") != "qat") {
    throw checkpoint_error(path, "not a QAT checkpoint (its kind is \"" + metadata_string(m, "kind") + "\")");
  }
  if (metadata_string(m, "config") != config.name) {
    throw checkpoint_error(path, "saved from config \"" + metadata_string(m, "config") +
                                     "\", but this run uses \"" + config.name + "\"");
  }
  const nlohmann::json wanted = quant_identity(config);
  const nlohmann::json saved = m.contains("quant") ? m["quant"] : nlohmann::json::object();
  for (const auto& [key, value] : wanted.items()) {
    if (!saved.contains(key) || saved[key] != value) {
      throw checkpoint_error(path, "saved by a QAT run with quant." + key + " = " +
                                       (saved.contains(key) ? saved[key].dump() : "(none)") +
                                       ", but this run has " + value.dump());
    }
  }
}

void restore_qat_checkpoint(const nn::Checkpoint& checkpoint, const std::string& path,
                            const config::ModelConfig& config, quant::QatModel& model,
                            const nn::Optimizer& optimizer) {
  check_qat_checkpoint(checkpoint, path, config);
  const nlohmann::json& m = checkpoint.metadata;
  const nlohmann::json observers = m.contains("observers") ? m["observers"] : nlohmann::json();
  if (!observers.is_object()) throw checkpoint_error(path, "metadata \"observers\" must be an object");

  nn::copy_state(checkpoint, "model.", model.state(), "checkpoint: " + path);
  restore_optimizer(checkpoint, optimizer, path);
  const std::vector<quant::NamedQuantPoint> points = named_points(model);
  if (observers.size() != points.size()) {
    throw checkpoint_error(path, "holds " + std::to_string(observers.size()) +
                                     " observers, but the model has " + std::to_string(points.size()) +
                                     " quantization points");
  }
  for (const auto& [name, point] : points) {
    if (!observers.contains(name))
      throw checkpoint_error(path, "no observer state for quantization point " + name);
    quant::ObserverState state{observers[name], {}};
    if (const Tensor values = checkpoint.find("observer." + name); values.defined()) {
      state.values = values.to_vector();
    }
    try {
      point->load_state(state);
    } catch (const std::invalid_argument& e) {
      throw checkpoint_error(path, "quantization point " + name + ": " + e.what());
    }
  }
  for (const auto& [name, t] : checkpoint.tensors) {
    if (name.rfind("observer.", 0) == 0 && observers.contains(name.substr(9))) continue;
    if (name.rfind("observer.", 0) == 0) throw checkpoint_error(path, "unexpected tensor \"" + name + "\"");
  }
}

QuantOutcome quantize_model(const config::ModelConfig& run_config, nn::Graph& float_model, QuantMethod method,
                            const data::MnistDataset& train_set, const data::MnistDataset& test_set,
                            double float_accuracy, bool quiet, const QatCheckpointing& checkpointing) {
  const config::ModelConfig config = method == QuantMethod::Ptq ? ptq_config(run_config) : run_config;
  QuantOutcome outcome;
  outcome.bits = static_cast<int>(config.quant.bits);
  outcome.method = method;
  outcome.float_accuracy = float_accuracy;
  outcome.quant_method = config.quant.method;
  for (const config::LayerQuantRecipe& layer : config::resolve_layer_quant(config)) {
    outcome.layers.push_back(layer.to_json());
  }
  auto qat = quant::prepare_qat(float_model, layer_settings(config));
  if (checkpointing.inspect) set_inspecting(*qat, true);
  const data::DataLoader loader(train_set, {.batch_size = config.train.batch_size,
                                            .shuffle = true,
                                            .seed = config.train.seed + 7919,  // not the float run's order
                                            .drop_last = drop_last_batch(config, train_set.size()),
                                            .prefetch = true});
  int64_t images = 0;
  if (method == QuantMethod::Ptq) {
    outcome.train_seconds = calibrate(*qat, loader, config.quant.ptq_batches, images);
    if (!quiet)
      std::printf("Calibrated on %lld images in %.1f s\n", static_cast<long long>(images),
                  outcome.train_seconds);
  } else {
    train_qat_epochs(config, *qat, loader, quiet, checkpointing, outcome, images);
  }
  outcome.images_per_second = outcome.train_seconds > 0 ? images / outcome.train_seconds : 0.0;

  qat->freeze();
  if (checkpointing.inspect) set_inspecting(*qat, true, false);  // measure the frozen grids on the test set
  const EvalStats fake = evaluate(*qat, test_set, config.train.test_batch_size);
  outcome.fake_quant_accuracy = fake.accuracy;
  if (checkpointing.inspect) {
    outcome.inspection["frozen"] = inspection_json(*qat);
    std::printf("%s", inspection_table(*qat, "Inspection, frozen model on the test set:").c_str());
  }

  const data::Normalization norm = test_set.normalization();
  outcome.model = quant::convert(*qat, {.input_shape = config.input_shape,
                                        .input_mean = norm.mean,
                                        .input_std = norm.std,
                                        .metadata = {{"config", config.name},
                                                     {"method", method_name(method)},
                                                     {"quant_method", config.quant.method},
                                                     {"bits", outcome.bits},
                                                     {"dataset", config.data.dataset}}});
  outcome.integer = evaluate_integer(outcome.model, test_set, config.train.test_batch_size, 1);
  outcome.agreement = agreement(outcome.integer.predictions, fake.predictions);
  outcome.model.metadata["test_accuracy"] = outcome.integer.accuracy;
  return outcome;
}

FloatModel obtain_float_model(const config::ModelConfig& config, const std::optional<std::string>& from,
                              const data::MnistDataset& train_set, const data::MnistDataset& test_set,
                              bool quiet, const FloatPhase& phase) {
  FloatModel f;
  Generator gen(config.train.seed);
  f.model = config::build_model(config, gen);
  if (from) {
    load_training_checkpoint(*from, *f.model, config.name);
    f.checkpoint = *from;
  } else {
    auto optimizer = make_optimizer(config.train, f.model->parameters(), config.train.lr);
    FloatTraining how;
    how.checkpoint_every = phase.checkpoint_every;
    how.quiet = quiet;
    how.on_step = phase.on_step;
    if (phase.resume) {
      const nn::Checkpoint checkpoint = load_training_checkpoint(*phase.resume, *f.model, config.name);
      restore_optimizer(checkpoint, *optimizer, *phase.resume);
      how.start = resume_progress(checkpoint, *phase.resume, config, train_set.size(),
                                  float_loader(config, train_set).size());
      how.resumed_from = *phase.resume;
      f.checkpoint = *phase.resume;
      std::printf("Resumed the float training from %s at epoch %lld, batch %lld\n", phase.resume->c_str(),
                  static_cast<long long>(how.start.epoch), static_cast<long long>(how.start.batches_done));
    } else {
      std::filesystem::create_directories("runs");
      f.checkpoint = "runs/" + config.name + ".ckpt";
      std::printf("No --from checkpoint: training the float model first (%lld epochs)\n",
                  static_cast<long long>(config.train.epochs));
    }
    how.checkpoint_path = f.checkpoint;
    remove_stale_temp_files(f.checkpoint);
    train_float(config, *f.model, *optimizer, train_set, test_set, how);
  }
  f.test = evaluate(*f.model, test_set, config.train.test_batch_size);
  return f;
}

config::ModelConfig apply_quant_overrides(config::ModelConfig c, const QuantJob& job) {
  if (job.bits) c.quant.bits = *job.bits;
  if (job.qat_epochs) c.quant.qat_epochs = *job.qat_epochs;
  if (job.ptq_batches) c.quant.ptq_batches = *job.ptq_batches;
  if (job.qat_lr) c.quant.qat_lr = *job.qat_lr;
  if (job.quant_method) c.quant.method = *job.quant_method;
  if (job.input_bits) c.quant.input_bits = *job.input_bits;
  if (job.first_layer_bits) c.quant.first_layer_bits = *job.first_layer_bits;
  if (job.last_layer_bits) c.quant.last_layer_bits = *job.last_layer_bits;
  if (job.observer) c.quant.observer = *job.observer;
  if (job.ste) c.quant.ste = *job.ste;
  if (job.per_channel) c.quant.per_channel = *job.per_channel;
  if (job.weight_decay) c.quant.weight_decay = *job.weight_decay;
  if (job.warmup_epochs) c.quant.warmup_epochs = *job.warmup_epochs;
  if (job.lr_schedule) c.quant.lr_schedule = *job.lr_schedule;
  if (job.qat_optimizer) c.quant.qat_optimizer = *job.qat_optimizer;
  if (job.freeze_bn_epoch) c.quant.freeze_bn_epoch = *job.freeze_bn_epoch;
  if (job.freeze_observers_epoch) c.quant.freeze_observers_epoch = *job.freeze_observers_epoch;
  return config::revalidate(c);
}

QuantOutcome run_quant_job(const QuantJob& job) {
  const config::ModelConfig config =
      apply_quant_overrides(load_config_with(job.config_path, job.overrides), job);
  set_tool_threads(job.threads);
  if (job.resume && job.method != QuantMethod::Qat)
    throw UsageError("--resume continues QAT; PTQ has nothing to resume");
  if (job.resume && job.from) {
    throw UsageError(
        "--from and --resume cannot be combined (a QAT checkpoint already holds its float model)");
  }
  if (job.checkpoint_every < 0) throw UsageError("--checkpoint-every must be non-negative");
  const char* method = method_name(job.method);
  const std::string out = job.out.empty() ? "runs/" + config.name + "_" + method + "_int" +
                                                std::to_string(config.quant.bits) + ".qgm"
                                          : job.out;
  check_output_path(out, job.out.empty());
  if (job.report) check_writable(*job.report);

  // --resume: a "qat" checkpoint continues QAT; a "float" one continues the float training before it.
  std::optional<nn::Checkpoint> resume;
  std::string resume_kind;
  if (job.resume) {
    resume = nn::load_checkpoint(*job.resume);
    resume_kind = metadata_string(resume->metadata, "kind");
    if (resume_kind != "qat" && resume_kind != "float") {
      throw nn::CheckpointError("checkpoint: " + *job.resume +
                                ": not a training checkpoint of train or train_qat" + " (kind \"" +
                                resume_kind + "\")");
    }
  }
  const bool resume_qat = resume_kind == "qat";
  std::string qat_checkpoint;
  if (job.method == QuantMethod::Qat) {
    qat_checkpoint = !job.checkpoint.empty() ? job.checkpoint
                     : resume_qat            ? *job.resume
                                             : default_qat_checkpoint(out);
    check_output_path(qat_checkpoint, job.out.empty() && job.checkpoint.empty() && !resume_qat);
  }
  check_quant_job_files(job, config, out, qat_checkpoint, resume_kind);  // no output over an input

  const data::MnistDataset train_set = load_dataset(config.data, data::Split::kTrain, job.overrides);
  const data::MnistDataset test_set = load_dataset(config.data, data::Split::kTest, job.overrides);
  check_data_fits(config, train_set);
  check_data_fits(config, test_set);
  if (job.method == QuantMethod::Qat || !job.from) check_training_batches(config, train_set.size());
  if (resume_qat) {  // everything about the checkpoint that can be checked before any work
    check_qat_checkpoint(*resume, *job.resume, config);
    resume_progress(*resume, *job.resume, config, train_set.size(), float_loader(config, train_set).size());
  }
  std::printf("%s\n", config::summary(config).c_str());
  FloatModel f;
  if (resume_qat) {  // the float weights are in the QAT checkpoint; its metadata remembers their accuracy
    Generator gen(config.train.seed);
    f.model = config::build_model(config, gen);
    f.test.accuracy = metadata_number(resume->metadata, "float_test_accuracy", 0.0);
    f.test.loss = metadata_number(resume->metadata, "float_test_loss", 0.0);
    f.checkpoint = metadata_string(resume->metadata, "float_checkpoint");
  } else {
    const FloatPhase phase{resume ? job.resume : std::nullopt, job.checkpoint_every, job.on_step};
    f = obtain_float_model(config, job.from, train_set, test_set, job.quiet, phase);
  }
  std::printf("\n%s\n", format_test_line(f.test, "Full Model ").c_str());
  const config::ModelConfig run_config = job.method == QuantMethod::Ptq ? ptq_config(config) : config;
  std::printf("Quantization bit: %lld (%s, method %s)\n", static_cast<long long>(config.quant.bits), method,
              run_config.quant.method.c_str());
  std::printf("%s", quant_plan_text(run_config).c_str());
  if (job.out.empty()) std::filesystem::create_directories("runs");  // only now that every input is checked

  const QatCheckpointing checkpointing{.path = qat_checkpoint,
                                       .every = job.checkpoint_every,
                                       .resume = resume_qat ? &*resume : nullptr,
                                       .resume_path = job.resume.value_or(""),
                                       .metadata = {{"float_test_accuracy", f.test.accuracy},
                                                    {"float_test_loss", f.test.loss},
                                                    {"float_checkpoint", f.checkpoint}},
                                       .on_step = job.on_step,
                                       .inspect = job.inspect};
  QuantOutcome o = quantize_model(config, *f.model, job.method, train_set, test_set, f.test.accuracy,
                                  job.quiet, checkpointing);
  const bool writer = distributed::world().is_writer();  // one writer in a data-parallel run: rank 0
  if (writer) runtime::save_model(o.model, out);
  const int64_t model_bytes = writer ? static_cast<int64_t>(std::filesystem::file_size(out)) : 0;
  std::printf("Test set: Fake-Quant Model Accuracy: %.2f%%\n", 100.0 * o.fake_quant_accuracy);
  std::printf(
      "Test set: Quant Model Accuracy: %.2f%%  (integer-only; agrees with fake-quant on %.2f%% of images)\n",
      100.0 * o.integer.accuracy, 100.0 * o.agreement);
  std::printf("Saved integer model to %s (%lld bytes)\n", out.c_str(), static_cast<long long>(model_bytes));
  if (job.report) {
    nlohmann::json report = {{"tool", job.method == QuantMethod::Qat ? "train_qat" : "ptq"},
                             {"config", config.name},
                             {"method", method},
                             {"quant_method", o.quant_method},
                             {"bits", o.bits},
                             {"recipe", config::resolve_quant(run_config.quant).to_json()},
                             {"layers", o.layers},
                             {"float_test_accuracy", o.float_accuracy},
                             {"fake_quant_test_accuracy", o.fake_quant_accuracy},
                             {"test_accuracy", o.integer.accuracy},
                             {"agreement", o.agreement},
                             {"train_seconds", o.train_seconds},
                             {"images_per_second", o.images_per_second},
                             {"integer_images_per_second", o.integer.images_per_second},
                             {"model_bytes", model_bytes},
                             {"model", out},
                             {"float_checkpoint", f.checkpoint},
                             {"qat_checkpoint", qat_checkpoint},
                             {"qat_epoch_train_loss", o.qat_epoch_loss},
                             {"peak_rss_mb", peak_rss_mb()},
                             {"inspection", o.inspection}};
    if (job.method == QuantMethod::Qat && distributed::started_by_mpirun())
      report["data_parallel"] = data_parallel_report(o.data_parallel);
    write_report(*job.report, report);
    std::printf("Wrote report to %s\n", job.report->c_str());
  }
  return o;
}

}  // namespace qg::app
