#include "app/train_job.h"

#include <cstdio>
#include <filesystem>

#include "app/report.h"
#include "config/builder.h"
#include "config/summary.h"

namespace qg::app {

TrainOutcome train_float(const config::ModelConfig& config, nn::Sequential& model, nn::Optimizer& optimizer,
                         const data::MnistDataset& train_set, const data::MnistDataset& test, int64_t first_epoch,
                         const std::string& checkpoint_path, bool quiet) {
  const data::DataLoader loader(train_set, {.batch_size = config.train.batch_size,
                                            .shuffle = true,
                                            .seed = config.train.seed,
                                            .drop_last = false,
                                            .prefetch = true});
  TrainOutcome outcome;
  int64_t images = 0;
  for (int64_t epoch = first_epoch; epoch <= config.train.epochs; ++epoch) {
    const EpochStats stats = train_epoch(model, optimizer, loader, epoch, {.quiet = quiet});
    outcome.train_seconds += stats.seconds;
    images += stats.images;
    outcome.test = evaluate(model, test, config.train.test_batch_size);
    outcome.epoch_accuracy.push_back(outcome.test.accuracy);
    outcome.epochs = epoch;
    save_training_checkpoint(checkpoint_path, model, &optimizer,
                             {{"kind", "float"}, {"config", config.name}, {"epoch", epoch}, {"seed", config.train.seed}});
    std::printf("\n%s  (epoch %lld: %.1f s, %.0f images/s)\n\n", format_test_line(outcome.test).c_str(),
                static_cast<long long>(epoch), stats.seconds, stats.images_per_second());
    std::fflush(stdout);
  }
  outcome.images_per_second = outcome.train_seconds > 0 ? images / outcome.train_seconds : 0.0;
  outcome.checkpoint = checkpoint_path;
  return outcome;
}

TrainOutcome run_train_job(const TrainJob& job) {
  const config::ModelConfig config = load_config_with(job.config_path, job.overrides);
  if (job.threads) set_threads(*job.threads);
  const std::string out = job.out.empty() ? "runs/" + config.name + ".ckpt" : job.out;
  if (job.out.empty()) std::filesystem::create_directories("runs");
  check_writable(out);
  if (job.report) check_writable(*job.report);

  const data::MnistDataset train_set = load_dataset(config.data, data::Split::kTrain);
  const data::MnistDataset test_set = load_dataset(config.data, data::Split::kTest);
  Generator gen(config.train.seed);
  auto model = config::build_model(config, gen);
  auto optimizer = make_optimizer(config.train, model->parameters(), config.train.lr);
  std::printf("%s\n", config::summary(config).c_str());

  int64_t first_epoch = 1;
  if (job.resume) {
    const nn::Checkpoint checkpoint = load_training_checkpoint(*job.resume, *model, config.name);
    restore_optimizer(checkpoint, *optimizer, *job.resume);
    first_epoch = checkpoint.metadata.value("epoch", 0) + 1;
    std::printf("Resumed from %s after epoch %lld\n", job.resume->c_str(), static_cast<long long>(first_epoch - 1));
  }
  TrainOutcome outcome = train_float(config, *model, *optimizer, train_set, test_set, first_epoch, out, job.quiet);
  if (outcome.epoch_accuracy.empty()) {  // nothing left to train: still report the model's accuracy
    outcome.test = evaluate(*model, test_set, config.train.test_batch_size);
    outcome.epochs = first_epoch - 1;
    save_training_checkpoint(out, *model, optimizer.get(),
                             {{"kind", "float"}, {"config", config.name}, {"epoch", outcome.epochs}, {"seed", config.train.seed}});
    outcome.checkpoint = out;
  }
  std::printf("%s\nSaved checkpoint to %s\n", format_test_line(outcome.test).c_str(), out.c_str());
  if (job.report) {
    write_report(*job.report, {{"tool", "train"},
                               {"config", config.name},
                               {"test_accuracy", outcome.test.accuracy},
                               {"test_loss", outcome.test.loss},
                               {"epochs", outcome.epochs},
                               {"epoch_test_accuracy", outcome.epoch_accuracy},
                               {"train_seconds", outcome.train_seconds},
                               {"images_per_second", outcome.images_per_second},
                               {"peak_rss_mb", peak_rss_mb()},
                               {"checkpoint", out}});
    std::printf("Wrote report to %s\n", job.report->c_str());
  }
  return outcome;
}

}  // namespace qg::app
