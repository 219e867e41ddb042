// The `sweep` tool's job: PTQ and QAT methods at each bit width from one float checkpoint, written as a
// Markdown table, a CSV and an SVG plot of accuracy against bits (docs/results, by scripts/results).
//
// A run that fails at one bit width does not end the sweep: QAT at 2 bits can diverge (the loss goes to
// NaN), a model trained to huge weights can have no integer form (a multiplier beyond 2^30). The run is
// marked "diverged" (or "failed") in the table with the reason, in the CSV (its status column) and in the
// plot (a cross on the axis), and the other widths go on. The tool then exits with 3 (tools/sweep.cpp).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/quantize_job.h"

namespace qg::app {

/// One row of a sweep: PTQ or QAT, with a quant method and, for QAT, its epochs.
struct SweepMethod {
  QuantMethod kind = QuantMethod::Qat;
  std::string quant_method;       // "tutorial", "ema", "lsq", "binary"; "" = the config's
  std::optional<int64_t> epochs;  // QAT epochs; none = the job's, else the config's

  /// "PTQ (ema)", "QAT lsq, 5 epochs", given the method and epochs the row resolves to.
  std::string label(const std::string& method, int64_t epochs) const;
};

/// Parses a --methods list: "ptq" (the config's method's PTQ), "ptq-tutorial", "ptq-ema", "qat" (the config's
/// method), "tutorial", "ema", "lsq", "binary"; a QAT entry may end in ":E" for E epochs ("tutorial:1").
/// Throws UsageError naming the entry.
std::vector<SweepMethod> parse_sweep_methods(const std::string& list);

struct SweepJob {
  std::string config_path;
  Overrides overrides;
  std::vector<int64_t> bits{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<SweepMethod> methods{{QuantMethod::Ptq, "", {}}, {QuantMethod::Qat, "", {}}};
  std::optional<int64_t> epochs;  // QAT epochs of every QAT row without its own
  std::optional<std::string> from;
  std::optional<int64_t> threads;
  std::string out_dir = "runs/sweep";
  std::string command;  // the command line, quoted in the Markdown
  bool quiet = true;    // no per-batch lines inside the sweep
  /// Called after every QAT step with the run's bit width (tests inject a divergence here).
  std::function<void(int64_t bits, const TrainingProgress&, nn::Module&)> on_qat_step;
};

struct SweepRow {
  int64_t bits;
  size_t method;              // index into SweepJob::methods
  std::string label;          // the method's row label, e.g. "QAT lsq, 5 epochs"
  QuantOutcome outcome;       // meaningless unless status is "ok"
  std::string status = "ok";  // "ok", "diverged" (TrainingDiverged) or "failed" (any other error of this run)
  std::string reason;         // the error's message, when not "ok"
};

struct SweepOutcome {
  double float_accuracy = 0;
  std::vector<SweepRow> rows;
  std::string markdown_path, csv_path, svg_path;
  /// The runs that diverged or failed.
  std::vector<const SweepRow*> failed() const;
};

SweepOutcome run_sweep_job(const SweepJob& job);

}  // namespace qg::app
