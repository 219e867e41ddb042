#include "app/sweep_job.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

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

const QuantOutcome* find(const SweepOutcome& s, int64_t bits, QuantMethod m) {
  for (const SweepRow& r : s.rows) {
    if (r.bits == bits && r.method == m) return &r.outcome;
  }
  return nullptr;
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
  const auto cell = [&](double v) {
    std::snprintf(buf, sizeof buf, " %.1f |", v);
    return std::string(buf);
  };
  const std::optional<ReferenceRow> ref = reference_results(config.name);
  for (QuantMethod m : methods) {
    md << "| quantgrad " << name(m) << " | integer-only accuracy % |";
    for (int64_t b : bits)
      md << cell(100 * find(s, b, m)->integer.accuracy);
    md << "\n| quantgrad " << name(m) << " | fake-quant accuracy % |";
    for (int64_t b : bits)
      md << cell(100 * find(s, b, m)->fake_quant_accuracy);
    md << "\n| quantgrad " << name(m) << " | integer / fake-quant agreement % |";
    for (int64_t b : bits) {
      std::snprintf(buf, sizeof buf, " %.2f |", 100 * find(s, b, m)->agreement);
      md << buf;
    }
    md << "\n";
    if (ref) {
      md << "| PyTorch reference " << name(m) << " | accuracy % |";
      for (int64_t b : bits)
        md << cell((m == QuantMethod::Qat ? ref->qat : ref->ptq)[b - 1]);
      md << "\n";
    }
  }
  if (ref) {
    md << "\nThe PyTorch reference rows are the tutorial's recipe run with PyTorch 1.13 on the same 2-core "
          "machine "
          "(float model "
       << ref->float_accuracy << " %), quoted from the project's quantization issue.\n";
  }
  return md.str();
}

std::string csv(const SweepOutcome& s) {
  std::ostringstream out;
  out << "bits,method,float_accuracy,fake_quant_accuracy,integer_accuracy,agreement,train_seconds\n";
  for (const SweepRow& r : s.rows) {
    out << r.bits << "," << name(r.method) << "," << s.float_accuracy << "," << r.outcome.fake_quant_accuracy
        << "," << r.outcome.integer.accuracy << "," << r.outcome.agreement << "," << r.outcome.train_seconds
        << "\n";
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
      ours.y.push_back(100 * find(s, b, m)->integer.accuracy);
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
      QuantOutcome o = quantize_model(c, *model, m, train_set, test_set, f.test.accuracy, job.quiet);
      std::printf("%s %lld-bit: integer %.2f%%  fake-quant %.2f%%  agreement %.2f%%  (%.1f s)\n", name(m),
                  static_cast<long long>(b), 100 * o.integer.accuracy, 100 * o.fake_quant_accuracy,
                  100 * o.agreement, o.train_seconds);
      std::fflush(stdout);
      s.rows.push_back({b, m, std::move(o)});
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
