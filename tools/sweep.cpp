// sweep: PTQ and QAT methods at each bit width from one float checkpoint; writes a Markdown table, a CSV and
// an SVG plot of accuracy against bits (the tutorial's figure) under --out-dir (default runs/sweep;
// scripts/results writes docs/results with it).
//
//   build/tools/sweep --config configs/mnist_cnn.json --bits 1-8 --from runs/mnist_cnn.ckpt
//                     --methods ptq-tutorial,ptq-ema,tutorial:1,ema,lsq --epochs 5
#include <cstdio>

#include "app/experiment.h"
#include "app/flags.h"
#include "app/sweep_job.h"

int main(int argc, char** argv) {
  using namespace qg::app;
  return run_tool("sweep", [&] {
    Flags flags(
        "sweep", "PTQ and QAT at each bit width; writes a table, a CSV and a plot.",
        {{"config", "C", "model config (JSON) (required)"},
         {"bits", "LIST", "bit widths, e.g. 1-8 or 2,4,8 (default 1-8)"},
         {"from", "CKPT", "float checkpoint (default: train the float model first)"},
         {"methods", "LIST",
          "rows: ptq, ptq-tutorial, ptq-ema, qat (the config's method), tutorial, ema, lsq, binary; "
          "a QAT row may end in :E for E epochs (default ptq,qat)"},
         {"epochs", "N", "QAT epochs of the rows without their own (default: the config's qat_epochs)"},
         {"float-epochs", "N", "float epochs when there is no --from"},
         {"data", "DIR", "dataset folder"},
         {"threads", "T", "OpenBLAS threads"},
         {"out-dir", "DIR", "where to write the results (default runs/sweep)"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    SweepJob job;
    job.config_path = flags.get("config");
    if (flags.has("bits")) job.bits = flags.get_int_list("bits", 1, 8);
    job.from = flags.optional("from");
    if (flags.has("methods")) job.methods = parse_sweep_methods(flags.get("methods"));
    if (flags.has("epochs")) job.epochs = flags.get_int("epochs", 0, 10000);
    job.command = "build/tools/sweep";
    for (int i = 1; i < argc; ++i)
      job.command.append(" ").append(argv[i]);
    if (flags.has("float-epochs")) job.overrides.epochs = flags.get_int("float-epochs", 0, 100000);
    job.overrides.data_root = flags.optional("data");
    if (flags.has("threads")) job.threads = flags.get_int("threads", 1, 64);
    job.out_dir = flags.optional("out-dir").value_or("runs/sweep");
    // Checks before an hour of work rather than after it: where the results go, and that the data fits the
    // model (the test split is small; the sweep loads both splits itself).
    check_output_folder(job.out_dir);
    const qg::config::ModelConfig config = load_config_with(job.config_path, job.overrides);
    check_data_fits(config, load_dataset(config.data, qg::data::Split::kTest));
    const SweepOutcome outcome = run_sweep_job(job);
    if (const std::vector<const SweepRow*> failed = outcome.failed(); !failed.empty()) {
      const SweepRow& first = *failed.front();
      throw PartialSuccess(std::to_string(failed.size()) + " of " + std::to_string(outcome.rows.size()) +
                           " runs diverged or failed (first: " + first.label + " at " +
                           std::to_string(first.bits) + " bits, " + first.status + ": " + first.reason +
                           "); they are marked in " + outcome.markdown_path + ", " + outcome.csv_path +
                           " and " + outcome.svg_path + ", with the other runs");
    }
    return 0;
  });
}
