#include "app/sweep_job.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "app/file_roles.h"
#include "app/reference_results.h"
#include "app/report.h"
#include "app/svg_plot.h"
#include "app/training_batches.h"
#include "config/builder.h"
#include "util/atomic_file.h"

namespace qg::app {

namespace {

const char* name(QuantMethod m) {
  return m == QuantMethod::Qat ? "QAT" : "PTQ";
}

// A fresh float model with `source`'s weights: every quantization run starts from the same float model.
std::shared_ptr<nn::Sequential> copy_of(const config::ModelConfig& config, const nn::Sequential& source) {
  Generator gen(config.train.seed);
  auto model = config::build_model(config, gen);
  const nn::NamedTensors from = source.state(), to = model->state();
  for (size_t i = 0; i < to.size(); ++i) {
    Tensor destination = to[i].second;
    destination.copy_from(from[i].second);
  }
  return model;
}

const SweepRow& find(const SweepOutcome& s, int64_t bits, QuantMethod m) {
  for (const SweepRow& r : s.rows) {
    if (r.bits == bits && r.method == m) return r;
  }
  throw std::logic_error("sweep: no run at " + std::to_string(bits) + " bits");
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One measure of a run in percent, NaN when it diverged or failed (the plot draws NaN as a cross).
double percent(const SweepRow& r, double QuantOutcome::*measure) {
  return r.status == "ok" ? 100 * (r.outcome.*measure) : kNaN;
}
double integer_percent(const SweepRow& r) {
  return r.status == "ok" ? 100 * r.outcome.integer.accuracy : kNaN;
}

std::string markdown(const config::ModelConfig& config, const SweepOutcome& s,
                     const std::vector<int64_t>& bits, const std::vector<QuantMethod>& methods) {
  std::ostringstream md;
  char buf[64];
  md << "# " << config.name << ": accuracy against bit width\n\n"
     << "Integer-only model on the " << config.data.dataset << " test set ("
     << "float model " << (std::snprintf(buf, sizeof buf, "%.2f", 100 * s.float_accuracy), buf)
     << " %). PTQ calibrates on " << config.quant.ptq_batches << " batches of " << config.train.batch_size
     << "; QAT trains " << config.quant.qat_epochs << " epoch(s) at lr " << config.quant.qat_lr
     << "; observer " << config.quant.observer << (config.quant.per_channel ? ", per-channel weights" : "")
     << ".\n\n| method | metric |";
  for (int64_t b : bits)
    md << " " << b << " |";
  md << "\n|---|---|";
  for (size_t i = 0; i < bits.size(); ++i)
    md << "---|";
  md << "\n";
  const auto number = [&](double v, const char* format = " %.1f |") {
    std::snprintf(buf, sizeof buf, format, v);
    return std::string(buf);
  };
  // A run's measure, or its status when it diverged or failed.
  const auto cell = [&](const SweepRow& r, double v, const char* format = " %.1f |") {
    return r.status == "ok" ? number(v, format) : " " + r.status + " |";
  };
  const std::optional<ReferenceRow> ref = reference_results(config.name);
  for (QuantMethod m : methods) {
    md << "| quantgrad " << name(m) << " | integer-only accuracy % |";
    for (int64_t b : bits)
      md << cell(find(s, b, m), integer_percent(find(s, b, m)));
    md << "\n| quantgrad " << name(m) << " | fake-quant accuracy % |";
    for (int64_t b : bits)
      md << cell(find(s, b, m), percent(find(s, b, m), &QuantOutcome::fake_quant_accuracy));
    md << "\n| quantgrad " << name(m) << " | integer / fake-quant agreement % |";
    for (int64_t b : bits)
      md << cell(find(s, b, m), percent(find(s, b, m), &QuantOutcome::agreement), " %.2f |");
    md << "\n";
    if (ref) {
      md << "| PyTorch reference " << name(m) << " | accuracy % |";
      for (int64_t b : bits)
        md << number((m == QuantMethod::Qat ? ref->qat : ref->ptq)[b - 1]);
      md << "\n";
    }
  }
  if (const std::vector<const SweepRow*> failed = s.failed(); !failed.empty()) {
    md << "\nRuns that diverged or failed (the sweep went on without them):\n\n";
    for (const SweepRow* r : failed)
      md << "* " << name(r->method) << " at " << r->bits << " bits, " << r->status << ": " << r->reason
         << "\n";
  }
  if (ref) {
    md << "\nThe PyTorch reference rows are the tutorial's recipe run with PyTorch 1.13 on the same 2-core "
          "machine "
          "(float model "
       << ref->float_accuracy << " %), quoted from the project's quantization issue.\n";
  }
  return md.str();
}

// One line per run; a run that diverged or failed has empty measures and that status.
std::string csv(const SweepOutcome& s) {
  std::ostringstream out;
  out << "bits,method,float_accuracy,fake_quant_accuracy,integer_accuracy,agreement,train_seconds,status\n";
  for (const SweepRow& r : s.rows) {
    out << r.bits << "," << name(r.method) << "," << s.float_accuracy << ",";
    if (r.status == "ok") {
      out << r.outcome.fake_quant_accuracy << "," << r.outcome.integer.accuracy << "," << r.outcome.agreement
          << "," << r.outcome.train_seconds << ",ok\n";
    } else {
      out << ",,,," << r.status << "\n";
    }
  }
  return out.str();
}

std::string plot(const config::ModelConfig& config, const SweepOutcome& s, const std::vector<int64_t>& bits,
                 const std::vector<QuantMethod>& methods) {
  std::vector<Series> series;
  const std::optional<ReferenceRow> ref = reference_results(config.name);
  for (QuantMethod m : methods) {
    Series ours{
        std::string("quantgrad ") + name(m), m == QuantMethod::Qat ? "#d62728" : "#1f77b4", false, {}, {}};
    Series theirs{
        std::string("PyTorch ") + name(m), m == QuantMethod::Qat ? "#ff9896" : "#aec7e8", true, {}, {}};
    for (int64_t b : bits) {
      ours.x.push_back(static_cast<double>(b));
      ours.y.push_back(integer_percent(find(s, b, m)));  // NaN: diverged or failed
      if (ref) {
        theirs.x.push_back(static_cast<double>(b));
        theirs.y.push_back((m == QuantMethod::Qat ? ref->qat : ref->ptq)[b - 1]);
      }
    }
    series.push_back(ours);
    if (ref) series.push_back(theirs);
  }
  Series full{"float model",
              "#2ca02c",
              true,
              {static_cast<double>(bits.front()), static_cast<double>(bits.back())},
              {100 * s.float_accuracy, 100 * s.float_accuracy}};
  series.push_back(full);
  return line_chart_svg(series, {config.name + ": integer-only accuracy against bit width", "bits",
                                 "test accuracy (%)", 0, 100, 720, 440});
}

std::vector<FileRole> sweep_inputs(const SweepJob& job, const config::ModelConfig& config) {
  std::vector<FileRole> inputs = run_inputs(job.config_path, config, job.overrides.data_root.has_value());
  if (job.from) inputs.push_back({"--from", *job.from});
  return inputs;
}

// Where the results go: <out-dir>/<config name>_sweep.{md,csv,svg}.
std::string results_base(const SweepJob& job, const config::ModelConfig& config) {
  return job.out_dir + "/" + config.name + "_sweep";
}

std::vector<FileRole> sweep_outputs(const SweepJob& job, const config::ModelConfig& config) {
  const std::string base = results_base(job, config);
  std::vector<FileRole> outputs;
  for (const char* extension : {".md", ".csv", ".svg"})
    outputs.push_back({"the --out-dir file", base + extension});
  if (!job.from)
    outputs.push_back({"the float checkpoint (trained first: no --from)", "runs/" + config.name + ".ckpt"});
  return outputs;
}

}  // namespace

std::vector<const SweepRow*> SweepOutcome::failed() const {
  std::vector<const SweepRow*> out;
  for (const SweepRow& r : rows) {
    if (r.status != "ok") out.push_back(&r);
  }
  return out;
}

SweepOutcome run_sweep_job(const SweepJob& job) {
  const config::ModelConfig config = load_config_with(job.config_path, job.overrides);
  if (job.threads) set_threads(*job.threads);
  check_outputs_apart(sweep_inputs(job, config), sweep_outputs(job, config));
  std::filesystem::create_directories(job.out_dir);
  const data::MnistDataset train_set = load_dataset(config.data, data::Split::kTrain);
  const data::MnistDataset test_set = load_dataset(config.data, data::Split::kTest);
  check_training_batches(config, train_set.size());
  const FloatModel f = obtain_float_model(config, job.from, train_set, test_set, job.quiet);
  std::printf("%s\n", format_test_line(f.test, "Full Model ").c_str());

  SweepOutcome s;
  s.float_accuracy = f.test.accuracy;
  for (int64_t b : job.bits) {
    for (QuantMethod m : job.methods) {
      config::ModelConfig c = config;
      c.quant.bits = b;
      auto model = copy_of(c, *f.model);
      QatCheckpointing hooks;  // no checkpoints in a sweep; the tests' step hook
      if (job.on_qat_step) {
        hooks.on_step = [&, b](const TrainingProgress& p, float, nn::Module& trained) {
          job.on_qat_step(b, p, trained);
        };
      }
      SweepRow row{b, m, {}, "ok", ""};
      try {
        row.outcome = quantize_model(c, *model, m, train_set, test_set, f.test.accuracy, job.quiet, hooks);
        const QuantOutcome& o = row.outcome;
        std::printf("%s %lld-bit: integer %.2f%%  fake-quant %.2f%%  agreement %.2f%%  (%.1f s)\n", name(m),
                    static_cast<long long>(b), 100 * o.integer.accuracy, 100 * o.fake_quant_accuracy,
                    100 * o.agreement, o.train_seconds);
      } catch (const TrainingDiverged& e) {  // this run only: the others go on
        row.status = "diverged";
        row.reason = e.what();
      } catch (const std::exception& e) {  // e.g. no integer form for the weights this run trained
        row.status = "failed";
        row.reason = e.what();
      }
      if (row.status != "ok") {
        std::printf("%s %lld-bit: %s (%s); going on with the other widths\n", name(m),
                    static_cast<long long>(b), row.status.c_str(), row.reason.c_str());
      }
      std::fflush(stdout);
      s.rows.push_back(std::move(row));
    }
  }
  const std::string base = results_base(job, config);
  s.markdown_path = base + ".md";
  s.csv_path = base + ".csv";
  s.svg_path = base + ".svg";
  util::write_file_atomically(s.markdown_path, markdown(config, s, job.bits, job.methods));
  util::write_file_atomically(s.csv_path, csv(s));
  util::write_file_atomically(s.svg_path, plot(config, s, job.bits, job.methods));
  std::printf("Wrote %s, %s and %s\n", s.markdown_path.c_str(), s.csv_path.c_str(), s.svg_path.c_str());
  return s;
}

}  // namespace qg::app
