// The `sweep` tool's job: PTQ and QAT at each bit width from one float checkpoint, written as a Markdown
// table, a CSV and an SVG plot of accuracy against bits.
#pragma once

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
};

struct SweepRow {
  int64_t bits;
  QuantMethod method;
  QuantOutcome outcome;
};

struct SweepOutcome {
  double float_accuracy = 0;
  std::vector<SweepRow> rows;
  std::string markdown_path, csv_path, svg_path;
};

SweepOutcome run_sweep_job(const SweepJob& job);

}  // namespace qg::app
