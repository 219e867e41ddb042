// The `sweep` tool's job: PTQ and QAT at each bit width from one float checkpoint, written as a Markdown
// table, a CSV and an SVG plot of accuracy against bits.
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

struct SweepJob {
  std::string config_path;
  Overrides overrides;
  std::vector<int64_t> bits{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<QuantMethod> methods{QuantMethod::Ptq, QuantMethod::Qat};
  std::optional<std::string> from;
  std::optional<int64_t> threads;
  std::string out_dir = "docs/results";
  bool quiet = true;  // no per-batch lines inside the sweep
  /// Called after every QAT step with the run's bit width (tests inject a divergence here).
  std::function<void(int64_t bits, const TrainingProgress&, nn::Module&)> on_qat_step;
};

struct SweepRow {
  int64_t bits;
  QuantMethod method;
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
