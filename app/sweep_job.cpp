#include "app/sweep_job.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "app/file_roles.h"
#include "app/flags.h"
#include "app/reference_results.h"
#include "app/report.h"
#include "app/svg_plot.h"
#include "app/training_batches.h"
#include "config/builder.h"
#include "config/loader.h"
#include "config/quant_recipe.h"
#include "util/atomic_file.h"

namespace qg::app {

namespace {

// A fresh float model with `source`'s weights: every quantization run starts from the same float model.
std::shared_ptr<nn::Graph> copy_of(const config::ModelConfig& config, const nn::Graph& source) {
  Generator gen(config.train.seed);
  auto model = config::build_model(config, gen);
  const nn::NamedTensors from = source.state(), to = model->state();
  for (size_t i = 0; i < to.size(); ++i) {
    Tensor destination = to[i].second;
    destination.copy_from(from[i].second);
  }
  return model;
}

// The config of one run: the row's method and epochs at `bits`.
config::ModelConfig run_config(const config::ModelConfig& config, const SweepJob& job, const SweepMethod& m,
                               int64_t bits) {
  config::ModelConfig c = config;
  c.quant.bits = bits;
  if (!m.quant_method.empty()) c.quant.method = m.quant_method;
  if (m.epochs) {
    c.quant.qat_epochs = *m.epochs;
  } else if (job.epochs) {
    c.quant.qat_epochs = *job.epochs;
  }
  return config::revalidate(c);
}

std::string row_label(const config::ModelConfig& config, const SweepJob& job, const SweepMethod& m) {
  const config::ModelConfig c = run_config(config, job, m, 8);
  return m.label(m.kind == QuantMethod::Ptq ? ptq_config(c).quant.method : c.quant.method,
                 c.quant.qat_epochs);
}

const SweepRow& find(const SweepOutcome& s, int64_t bits, size_t method) {
  for (const SweepRow& r : s.rows) {
    if (r.bits == bits && r.method == method) return r;
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

// One table: a row per method, a column per bit width, `value` of each run (or its status).
std::string table(const config::ModelConfig& config, const SweepJob& job, const SweepOutcome& s,
                  const std::function<double(const SweepRow&)>& value, const char* format) {
  std::ostringstream md;
  char buf[64];
  md << "| method |";
  for (int64_t b : job.bits)
    md << " " << b << " bits |";
  md << "\n|---|";
  for (size_t i = 0; i < job.bits.size(); ++i)
    md << "---|";
  md << "\n";
  for (size_t m = 0; m < job.methods.size(); ++m) {
    md << "| " << row_label(config, job, job.methods[m]) << " |";
    for (int64_t b : job.bits) {
      const SweepRow& r = find(s, b, m);
      if (r.status != "ok") {
        md << " " << r.status << " |";
      } else {
        std::snprintf(buf, sizeof buf, format, value(r));
        md << buf;
      }
    }
    md << "\n";
  }
  return md.str();
}

std::string markdown(const config::ModelConfig& config, const SweepJob& job, const SweepOutcome& s) {
  std::ostringstream md;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", 100 * s.float_accuracy);
  md << "# " << config.name << ": accuracy against bit width\n\n"
     << "Integer-only model on the " << config.data.dataset
     << " test set; the float model it starts from: " << buf << " %. PTQ calibrates on "
     << config.quant.ptq_batches << " batches of " << config.train.batch_size
     << " training images; each QAT row trains that many epochs with its method's recipe (docs/config.md "
        "2.4). "
     << "Bit width b means weights and activations at b bits, except where the method keeps the model input "
        "and "
        "the classifier at 8 bits (binary).\n\n";
  if (!job.command.empty()) md << "Command: `" << job.command << "`\n\n";
  md << "## Integer-only accuracy (%)\n\n" << table(config, job, s, integer_percent, " %.2f |");
  md << "\n## Fake-quant model accuracy (%)\n\n"
     << table(
            config, job, s, [](const SweepRow& r) { return percent(r, &QuantOutcome::fake_quant_accuracy); },
            " %.2f |");
  md << "\n## Integer / fake-quant agreement (% of test images predicted alike)\n\n"
     << table(
            config, job, s, [](const SweepRow& r) { return percent(r, &QuantOutcome::agreement); },
            " %.2f |");
  if (const std::optional<ReferenceRow> ref = reference_results(config.name)) {
    md << "\n## PyTorch, the tutorial's recipe\n\n| PyTorch 1.13 |";
    for (int64_t b : job.bits)
      md << " " << b << " bits |";
    md << "\n|---|";
    for (size_t i = 0; i < job.bits.size(); ++i)
      md << "---|";
    for (const auto& [label, values] : {std::pair{"PTQ", ref->ptq}, std::pair{"QAT, 1 epoch", ref->qat}}) {
      md << "\n| " << label << " |";
      for (int64_t b : job.bits) {
        std::snprintf(buf, sizeof buf, " %.1f |", values[static_cast<size_t>(b - 1)]);
        md << buf;
      }
    }
    md << "\n\nRun on the same 2-core machine (float model " << ref->float_accuracy
       << " %), quoted from the project's quantization issue.\n";
  }
  if (const std::vector<const SweepRow*> failed = s.failed(); !failed.empty()) {
    md << "\nRuns that diverged or failed (the sweep went on without them):\n\n";
    for (const SweepRow* r : failed) {
      md << "* " << r->label << " at " << r->bits << " bits, " << r->status << ": " << r->reason << "\n";
    }
  }
  return md.str();
}

// One line per run; a run that diverged or failed has empty measures and that status.
std::string csv(const config::ModelConfig& config, const SweepJob& job, const SweepOutcome& s) {
  std::ostringstream out;
  out << "bits,kind,quant_method,qat_epochs,float_accuracy,fake_quant_accuracy,integer_accuracy,agreement,"
         "train_seconds,status\n";
  for (const SweepRow& r : s.rows) {
    const SweepMethod& m = job.methods[r.method];
    const config::ModelConfig c = run_config(config, job, m, r.bits);
    const bool qat = m.kind == QuantMethod::Qat;
    out << r.bits << "," << (qat ? "qat" : "ptq") << ","
        << (qat ? c.quant.method : ptq_config(c).quant.method) << "," << (qat ? c.quant.qat_epochs : 0) << ","
        << s.float_accuracy << ",";
    if (r.status == "ok") {
      out << r.outcome.fake_quant_accuracy << "," << r.outcome.integer.accuracy << "," << r.outcome.agreement
          << "," << r.outcome.train_seconds << ",ok\n";
    } else {
      out << ",,,," << r.status << "\n";
    }
  }
  return out.str();
}

std::string plot(const config::ModelConfig& config, const SweepJob& job, const SweepOutcome& s) {
  static const char* const kColors[] = {"#1f77b4", "#9467bd", "#ff7f0e", "#d62728",
                                        "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
  std::vector<Series> series;
  for (size_t m = 0; m < job.methods.size(); ++m) {
    Series line{row_label(config, job, job.methods[m]),
                kColors[m % std::size(kColors)],
                job.methods[m].kind == QuantMethod::Ptq,
                {},
                {}};
    for (int64_t b : job.bits) {
      line.x.push_back(static_cast<double>(b));
      line.y.push_back(integer_percent(find(s, b, m)));  // NaN: diverged or failed
    }
    series.push_back(line);
  }
  Series full{"float model",
              "#2ca02c",
              true,
              {static_cast<double>(job.bits.front()), static_cast<double>(job.bits.back())},
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

std::string SweepMethod::label(const std::string& method, int64_t qat_epochs) const {
  if (kind == QuantMethod::Ptq) return "PTQ (" + method + ")";
  return "QAT " + method + ", " + std::to_string(qat_epochs) + (qat_epochs == 1 ? " epoch" : " epochs");
}

std::vector<SweepMethod> parse_sweep_methods(const std::string& list) {
  std::vector<SweepMethod> out;
  std::stringstream in(list);
  std::string entry;
  while (std::getline(in, entry, ',')) {
    SweepMethod m;
    std::string name = entry;
    if (const size_t colon = entry.find(':'); colon != std::string::npos) {
      name = entry.substr(0, colon);
      const std::string epochs = entry.substr(colon + 1);
      if (epochs.empty() || epochs.find_first_not_of("0123456789") != std::string::npos ||
          epochs.size() > 6) {
        throw UsageError("--methods: \"" + entry + "\": expected epochs after ':' (e.g. lsq:5)");
      }
      m.epochs = std::stoll(epochs);
    }
    const auto& names = config::method_names();
    if (name == "ptq" || name == "qat") {
      m.kind = name == "ptq" ? QuantMethod::Ptq : QuantMethod::Qat;
    } else if (name == "ptq-tutorial" || name == "ptq-ema") {
      m.kind = QuantMethod::Ptq;
      m.quant_method = name.substr(4);
    } else if (std::find(names.begin(), names.end(), name) != names.end()) {
      m.quant_method = name;
    } else {
      throw UsageError(
          "--methods: unknown entry \"" + entry +
          "\" (expected ptq, ptq-tutorial, ptq-ema, qat, tutorial, ema, lsq or binary, a QAT one "
          "optionally with :epochs)");
    }
    if (m.kind == QuantMethod::Ptq && m.epochs) {
      throw UsageError("--methods: \"" + entry + "\": PTQ trains no epochs");
    }
    out.push_back(m);
  }
  if (out.empty()) throw UsageError("--methods: the list is empty");
  return out;
}

std::vector<const SweepRow*> SweepOutcome::failed() const {
  std::vector<const SweepRow*> out;
  for (const SweepRow& r : rows) {
    if (r.status != "ok") out.push_back(&r);
  }
  return out;
}

SweepOutcome run_sweep_job(const SweepJob& job) {
  const config::ModelConfig config = load_config_with(job.config_path, job.overrides);
  set_tool_threads(job.threads);
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
    for (size_t m = 0; m < job.methods.size(); ++m) {
      const config::ModelConfig c = run_config(config, job, job.methods[m], b);
      const std::string label = row_label(config, job, job.methods[m]);
      auto model = copy_of(c, *f.model);
      QatCheckpointing hooks;  // no checkpoints in a sweep; the tests' step hook
      if (job.on_qat_step) {
        hooks.on_step = [&, b](const TrainingProgress& p, float, nn::Module& trained) {
          job.on_qat_step(b, p, trained);
        };
      }
      SweepRow row{b, m, label, {}, "ok", ""};
      try {
        row.outcome = quantize_model(c, *model, job.methods[m].kind, train_set, test_set, f.test.accuracy,
                                     job.quiet, hooks);
        const QuantOutcome& o = row.outcome;
        std::printf("%s %lld-bit: integer %.2f%%  fake-quant %.2f%%  agreement %.2f%%  (%.1f s)\n",
                    label.c_str(), static_cast<long long>(b), 100 * o.integer.accuracy,
                    100 * o.fake_quant_accuracy, 100 * o.agreement, o.train_seconds);
      } catch (const TrainingDiverged& e) {  // this run only: the others go on
        row.status = "diverged";
        row.reason = e.what();
      } catch (const std::exception& e) {  // e.g. no integer form for the weights this run trained
        row.status = "failed";
        row.reason = e.what();
      }
      if (row.status != "ok") {
        std::printf("%s %lld-bit: %s (%s); going on with the other widths\n", label.c_str(),
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
  util::write_file_atomically(s.markdown_path, markdown(config, job, s));
  util::write_file_atomically(s.csv_path, csv(config, job, s));
  util::write_file_atomically(s.svg_path, plot(config, job, s));
  std::printf("Wrote %s, %s and %s\n", s.markdown_path.c_str(), s.csv_path.c_str(), s.svg_path.c_str());
  return s;
}

}  // namespace qg::app
