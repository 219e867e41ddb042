#include "app/train_job.h"

#include <cstdio>
#include <filesystem>

#include "app/data_parallel.h"
#include "app/distributed.h"
#include "app/file_roles.h"
#include "app/report.h"
#include "app/training_batches.h"
#include "config/builder.h"
#include "config/summary.h"

namespace qg::app {

namespace {

// "runs/x.ckpt (after step 120, epoch 2 batch 17)": a checkpoint a stopped run can be resumed from.
std::string checkpoint_text(const std::string& path, const TrainingProgress& p) {
  return path + " (after step " + std::to_string(p.step) + ", epoch " + std::to_string(p.epoch) + " batch " +
         std::to_string(p.batches_done) + ")";
}

}  // namespace

data::DataLoader float_loader(const config::ModelConfig& config, const data::MnistDataset& train_set) {
  return data::DataLoader(train_set, {.batch_size = config.train.batch_size,
                                      .shuffle = true,
                                      .seed = config.train.seed,
                                      .drop_last = drop_last_batch(config, train_set.size()),
                                      .prefetch = true});
}

TrainOutcome train_float(const config::ModelConfig& config, nn::Graph& model, nn::Optimizer& optimizer,
                         const data::MnistDataset& train_set, const data::MnistDataset& test,
                         const FloatTraining& how) {
  const data::DataLoader loader = float_loader(config, train_set);
  std::string last_good = how.resumed_from.empty() ? "" : checkpoint_text(how.resumed_from, how.start);
  const auto save = [&](const TrainingProgress& p) {
    save_training_checkpoint(how.checkpoint_path, model, &optimizer,
                             checkpoint_metadata("float", config, p, train_set.size()));
    last_good = checkpoint_text(how.checkpoint_path, p);
  };
  const StepHook after_step = [&](const TrainingProgress& p, float loss, nn::Module& trained) {
    const bool epoch_end = p.batches_done == loader.size();  // saved after the evaluation instead
    if (how.checkpoint_every > 0 && p.step % how.checkpoint_every == 0 && !epoch_end) save(p);
    if (how.on_step) how.on_step(p, loss, trained);
  };

  TrainOutcome outcome;
  int64_t images = 0;
  TrainingProgress progress = how.start;
  while (progress.epoch <= config.train.epochs) {
    EpochStats stats;
    try {
      stats = train_epoch(model, optimizer, loader, progress, {.quiet = how.quiet}, after_step);
    } catch (const TrainingDiverged& e) {
      throw TrainingDiverged(std::string(e.what()) + "; the last good checkpoint is " +
                             (last_good.empty() ? "none: nothing was saved yet" : last_good));
    }
    outcome.train_seconds += stats.seconds;
    outcome.data_parallel.add(stats.data_parallel);
    images += stats.images;
    outcome.epoch_loss.push_back(stats.mean_loss);
    outcome.test = evaluate(model, test, config.train.test_batch_size);
    outcome.epoch_accuracy.push_back(outcome.test.accuracy);
    outcome.epochs = progress.epoch;
    progress = progress.next_epoch();
    save(progress);
    std::printf("\n%s  (epoch %lld: %.1f s, %.0f images/s)\n\n", format_test_line(outcome.test).c_str(),
                static_cast<long long>(outcome.epochs), stats.seconds, stats.images_per_second());
    std::fflush(stdout);
  }
  outcome.images_per_second = outcome.train_seconds > 0 ? images / outcome.train_seconds : 0.0;
  outcome.checkpoint = how.checkpoint_path;
  return outcome;
}

TrainOutcome run_train_job(const TrainJob& job) {
  const config::ModelConfig config = load_config_with(job.config_path, job.overrides);
  set_tool_threads(job.threads);
  if (job.checkpoint_every < 0) throw std::invalid_argument("checkpoint_every must be non-negative");
  const bool default_out = job.out.empty() && !job.resume;
  const std::string out = !job.out.empty() ? job.out
                          : job.resume     ? *job.resume
                                           : "runs/" + config.name + ".ckpt";
  check_output_path(out, default_out);
  if (job.report) check_writable(*job.report);
  std::vector<FileRole> inputs = run_inputs(job.config_path, config, job.overrides.data_root.has_value());
  // A resumed run continues its own checkpoint: it may write the --resume file (by default it does).
  if (job.resume && !same_file(*job.resume, out)) inputs.push_back({"--resume", *job.resume});
  std::vector<FileRole> outputs{{job.out.empty() ? "the checkpoint" : "--out", out}};
  if (job.report) outputs.push_back({"--report", *job.report});
  check_outputs_apart(inputs, outputs);

  const data::MnistDataset train_set = load_dataset(config.data, data::Split::kTrain, job.overrides);
  const data::MnistDataset test_set = load_dataset(config.data, data::Split::kTest, job.overrides);
  check_data_fits(config, train_set);
  check_data_fits(config, test_set);
  check_training_batches(config, train_set.size());
  Generator gen(config.train.seed);
  auto model = config::build_model(config, gen);
  auto optimizer = make_optimizer(config.train, model->parameters(), config.train.lr);

  FloatTraining how;
  how.checkpoint_path = out;
  how.checkpoint_every = job.checkpoint_every;
  how.quiet = job.quiet;
  how.on_step = job.on_step;
  if (job.resume) {
    const nn::Checkpoint checkpoint = load_training_checkpoint(*job.resume, *model, config.name);
    restore_optimizer(checkpoint, *optimizer, *job.resume);
    how.start = resume_progress(checkpoint, *job.resume, config, train_set.size(),
                                float_loader(config, train_set).size());
    how.resumed_from = *job.resume;
  }
  std::printf("%s\n", config::summary(config).c_str());
  if (job.resume) {
    std::printf("Resumed from %s at epoch %lld, batch %lld (step %lld)\n", job.resume->c_str(),
                static_cast<long long>(how.start.epoch), static_cast<long long>(how.start.batches_done),
                static_cast<long long>(how.start.step));
  }
  if (default_out) std::filesystem::create_directories("runs");  // only now that every input is checked
  remove_stale_temp_files(out);
  TrainOutcome outcome = train_float(config, *model, *optimizer, train_set, test_set, how);
  if (outcome.epoch_accuracy.empty()) {  // nothing left to train: still report the model's accuracy
    outcome.test = evaluate(*model, test_set, config.train.test_batch_size);
    outcome.epochs = how.start.epoch - 1;
    save_training_checkpoint(out, *model, optimizer.get(),
                             checkpoint_metadata("float", config, how.start, train_set.size()));
    outcome.checkpoint = out;
  }
  std::printf("%s\nSaved checkpoint to %s\n", format_test_line(outcome.test).c_str(), out.c_str());
  if (job.report) {
    nlohmann::json report = {{"tool", "train"},
                             {"config", config.name},
                             {"test_accuracy", outcome.test.accuracy},
                             {"test_loss", outcome.test.loss},
                             {"epochs", outcome.epochs},
                             {"epoch_test_accuracy", outcome.epoch_accuracy},
                             {"epoch_train_loss", outcome.epoch_loss},
                             {"train_seconds", outcome.train_seconds},
                             {"images_per_second", outcome.images_per_second},
                             {"peak_rss_mb", peak_rss_mb()},
                             {"checkpoint", out}};
    if (distributed::started_by_mpirun())
      report["data_parallel"] = data_parallel_report(outcome.data_parallel);
    write_report(*job.report, report);
    std::printf("Wrote report to %s\n", job.report->c_str());
  }
  return outcome;
}

}  // namespace qg::app
