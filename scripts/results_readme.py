#!/usr/bin/env python3
"""Writes <out>/README.md from what scripts/results produced in <out>: the float models, the sweeps, the
low-bit target runs (each checked against its target), the inspections, the canary figures (canary.json,
scripts/results_canary.py). Called by scripts/results; it only reads the reports, so every figure in the
README comes from a run of the current commit.

    python3 scripts/results_readme.py <out-dir> <started> <bits> <epochs> <long-epochs>
    python3 scripts/results_readme.py <out-dir> --keep-stamp

--keep-stamp rewrites the README from the reports already in <out-dir> without any run (e.g. after
scripts/results --canary-only, or when this generator changes): the main figures keep the stamp of the run
that made them (commit, start, machine, and the bits and epochs it used), read from the README being replaced.
"""
import csv
import datetime
import json
import os
import platform
import re
import subprocess
import sys


def load(out, name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def pct(x):
    return "%.2f %%" % (100.0 * x)


def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout.strip()


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def sweep_rows(out, model):
    """{(label, bits): integer accuracy or status} from <model>_sweep.csv, and the labels in order."""
    path = os.path.join(out, model + "_sweep.csv")
    if not os.path.exists(path):
        return {}, []
    cells, labels = {}, []
    with open(path) as f:
        for r in csv.DictReader(f):
            label = ("PTQ (%s)" % r["quant_method"]) if r["kind"] == "ptq" else \
                ("QAT %s, %s epoch%s" % (r["quant_method"], r["qat_epochs"], "" if r["qat_epochs"] == "1" else "s"))
            if label not in labels:
                labels.append(label)
            cells[(label, int(r["bits"]))] = float(r["integer_accuracy"]) if r["status"] == "ok" else r["status"]
    return cells, labels


def qat_vs_ptq(out, model, recommended):
    """Bit widths 2..8 where the recommended QAT row is below the best PTQ row, and the pairs compared."""
    cells, labels = sweep_rows(out, model)
    ptq = [l for l in labels if l.startswith("PTQ")]
    qat = [l for l in labels if l.startswith("QAT " + recommended)]
    lines, worse = [], []
    for b in range(2, 9):
        best = [cells.get((l, b)) for l in ptq if isinstance(cells.get((l, b)), float)]
        ours = cells.get((qat[0], b)) if qat else None
        if not best or not isinstance(ours, float):
            continue
        lines.append((b, max(best), ours))
        if ours < max(best):
            worse.append(b)
    return lines, worse


STAMP = re.compile(r"Written by `scripts/results` on commit (\S+?)( \(with uncommitted changes\))?, started (\S+), "
                   r"on (.+) with (\d+) cores \((\d+) threads\)\.")
BITS = re.compile(r"from the float checkpoints above, bit widths (\S+):")
EPOCHS = re.compile(r"ema and lsq QAT \((\d+) epochs each")
LONG_EPOCHS = re.compile(r"--bits 2 --epochs (\d+) --report")


def stamp_of_this_run(out, started):
    commit = git("rev-parse", "--short", "HEAD")
    # The run's own output folder has changed by now; any other tracked change means the code was not the commit's.
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no", "--", ".",
                                                 ":(exclude)" + out) else ""
    return commit, dirty, started, cpu_name(), str(os.cpu_count()), os.environ.get("THREADS", "2")


def stamp_kept(out):
    """The stamp, bits and epochs of the run that wrote <out>/README.md, read back from it."""
    path = os.path.join(out, "README.md")
    with open(path) as f:
        text = f.read()
    found = [p.search(text) for p in (STAMP, BITS, EPOCHS, LONG_EPOCHS)]
    if not all(found):
        sys.exit("results_readme: %s: cannot find the run's stamp, bit widths or epochs to keep; run scripts/results"
                 % path)
    stamp, bits, epochs, long_epochs = found
    return stamp.groups(""), bits.group(1), epochs.group(1), long_epochs.group(1)


def canary_section(out):
    """The canary figures (canary.json) that scripts/check-results re-runs, or nothing before the first canary run."""
    path = os.path.join(out, "canary.json")
    if not os.path.exists(path):
        return []
    c = load(out, "canary.json")
    md = ["## Canary figures (checked by `scripts/check-results`)\n",
          "A cheap re-run of the pipeline that shows when the code has drifted from the figures above: "
          "`scripts/check-results` runs these commands again (seconds on one core) and fails, naming the "
          "figure, when one differs. Written by `scripts/results` (alone: `scripts/results --canary-only`) on "
          "commit %s, started %s; %d thread%s, the first %d training and %d test images of MNIST, so the "
          "figures are deterministic (on another CPU, OpenBLAS may pick other kernels and change the last "
          "digits; [canary.json](canary.json)).\n" % (c["commit"], c["started"], c["subset"]["threads"], "" if c["subset"]["threads"] == 1 else "s",
                                                      c["subset"]["train_images"], c["subset"]["test_images"]),
          "| figure | value |\n|---|---|"]
    md += ["| %s | %s |" % (f["name"], f["value"]) for f in c["figures"]]
    md.append("\nThe commands, in order (`scripts/results_canary.py`):\n")
    md += ["    " + command for command in c["commands"]]
    md.append("")
    return md


def main():
    out = sys.argv[1]
    if sys.argv[2:] == ["--keep-stamp"]:
        (commit, dirty, started, cpu, cores, threads), bits, epochs, long_epochs = stamp_kept(out)
        rewritten = (" This page was rewritten from that run's reports, without re-running them, by "
                     "`scripts/results_readme.py --keep-stamp` on commit %s, %s." %
                     (git("rev-parse", "--short", "HEAD"), datetime.date.today().isoformat()))
    elif len(sys.argv) == 6:
        started, bits, epochs, long_epochs = sys.argv[2:6]
        commit, dirty, started, cpu, cores, threads = stamp_of_this_run(out, started)
        rewritten = ""
    else:
        sys.exit(__doc__)
    md = []
    md.append("# Results\n")
    md.append("Written by `scripts/results` on commit %s%s, started %s, on %s with %s cores (%s threads). "
              "Every figure below comes from that run; the accuracies are deterministic (fixed seeds), the "
              "seconds and images/s in the JSON reports are not speed measurements (see "
              "[../PERFORMANCE.md](../PERFORMANCE.md)).%s\n" % (commit, dirty, started, cpu, cores, threads, rewritten))
    md.append("A residual network on Fashion-MNIST through the whole pipeline (float, PTQ, QAT, the integer "
              "runtime, and PyTorch beside it) has its own page, written by `scripts/results-resnet`: "
              "[fashion_resnet.md](fashion_resnet.md).\n")

    md.append("## Float models (`tools/train` with each config's recipe: SGD, batch 64, seed 1, 5 epochs)\n")
    md.append("| config | test accuracy after each epoch | report |\n|---|---|---|")
    floats = {}
    for model in ("mnist_cnn", "mnist_cnn_bn", "mnist_dwsep_bn"):
        r = load(out, "train_%s.json" % model)
        floats[model] = r["test_accuracy"]
        md.append("| `configs/%s.json` | %s | [train_%s.json](train_%s.json) |" % (
            model, ", ".join(pct(a) for a in r["epoch_test_accuracy"]), model, model))
    md.append("")

    md.append("## Accuracy against bit width, every method\n")
    md.append("`tools/sweep` from the float checkpoints above, bit widths %s: PTQ with the tutorial's and with "
              "ema's observers, the tutorial's QAT (its one epoch), ema and lsq QAT (%s epochs each, their "
              "recipes), and binary (XNOR-Net weights, b-bit activations, input and classifier at 8 bits; %s epochs). "
              "Tables, CSV and plot per model:\n" % (bits, epochs, epochs))
    for model in ("mnist_cnn", "mnist_cnn_bn"):
        md.append("* [%s_sweep.md](%s_sweep.md) ([csv](%s_sweep.csv), [plot](%s_sweep.svg))" % ((model,) * 4))
    md.append("")
    md.append("The recommended method (`lsq`, the default) against the best PTQ at each width:\n")
    md.append("| config | bits | best PTQ | QAT lsq | QAT >= PTQ |\n|---|---|---|---|---|")
    for model in ("mnist_cnn", "mnist_cnn_bn"):
        lines, _ = qat_vs_ptq(out, model, "lsq")
        for b, best, ours in lines:
            md.append("| %s | %d | %.2f %% | %.2f %% | %s |" % (model, b, 100 * best, 100 * ours,
                                                                 "yes" if ours >= best else "**no**"))
    md.append("")

    md.append("## The low-bit targets (integer-only model, MNIST test set, from the float models above)\n")
    md.append("| run | method, widths | QAT epochs | float | integer model | target | met | agreement | report |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    targets = [
        ("mnist_cnn_bn_lsq_4bit", "mnist_cnn_bn", lambda f: f, ">= float"),
        ("mnist_cnn_bn_lsq_3bit", "mnist_cnn_bn", lambda f: f - 0.001, ">= float - 0.1 pt"),
        ("mnist_cnn_bn_lsq_2bit", "mnist_cnn_bn", lambda f: 0.985, ">= 98.5 %"),
        ("mnist_cnn_bn_binary_1bit", "mnist_cnn_bn", lambda f: 0.975, ">= 97.5 %"),
        ("mnist_cnn_lsq_3bit", "mnist_cnn", lambda f: 0.980, ">= 98.0 %"),
        ("mnist_cnn_lsq_2bit", "mnist_cnn", lambda f: 0.975, ">= 97.5 %"),
        ("mnist_cnn_lsq_8bit", "mnist_cnn", lambda f: f - 0.001, ">= float - 0.1 pt"),
        ("mnist_cnn_bn_lsq_8bit", "mnist_cnn_bn", lambda f: f - 0.001, ">= float - 0.1 pt"),
        ("mnist_dwsep_bn_lsq_8bit", "mnist_dwsep_bn", lambda f: f - 0.001, ">= float - 0.1 pt"),
    ]
    for name, model, target, text in targets:
        r = load(out, "qat_%s.json" % name)
        widths = "; ".join("layer %d: w%d a%d%s" % (l["layer"], l["weight_bits"], l["activation_bits"],
                                                    (" in%d" % l["input_bits"]) if "input_bits" in l else "")
                           for l in r["layers"])
        goal = target(r["float_test_accuracy"])
        met = r["test_accuracy"] + 1e-9 >= goal
        md.append("| %s | %s (%s) | %d | %s | %s | %s | %s | %s | [json](qat_%s.json) |" % (
            name, r["quant_method"], widths, r["recipe"]["qat_epochs"], pct(r["float_test_accuracy"]),
            pct(r["test_accuracy"]), text, "yes" if met else "**no**", pct(r["agreement"]), name))
    md.append("")
    unfrozen = load(out, "qat_mnist_cnn_bn_lsq_2bit_bn_unfrozen.json")
    no_warmup = load(out, "qat_mnist_dwsep_bn_lsq_8bit_no_warmup.json")
    md.append("What the lsq recipe's choices are for (docs/05-quantization.md, 5.8):\n")
    md.append("* the BatchNorm frozen from the start: `mnist_cnn_bn` at 2 bits for one epoch with the BatchNorm folded "
              "with each batch's statistics instead (`--freeze-bn-epoch never`) ends at %s "
              "([json](qat_mnist_cnn_bn_lsq_2bit_bn_unfrozen.json));" % pct(unfrozen["test_accuracy"]))
    md.append("* the learning-rate warm-up: `mnist_dwsep_bn` at 8 bits without it (`--warmup-epochs 0`) ends at %s "
              "from a %s float model ([json](qat_mnist_dwsep_bn_lsq_8bit_no_warmup.json));"
              % (pct(no_warmup["test_accuracy"]), pct(no_warmup["float_test_accuracy"])))
    slow = load(out, "qat_mnist_cnn_bn_lsq_2bit_lr0.001.json")
    cells, labels = sweep_rows(out, "mnist_cnn_bn")
    lsq = [l for l in labels if l.startswith("QAT lsq")]
    at_2 = cells.get((lsq[0], 2)) if lsq else None
    md.append("* the learning rate 0.01: `mnist_cnn_bn` at 2 bits for %d epochs with 0.001 ends at %s, against %s "
              "after %s epochs with 0.01 (the sweep's lsq row) ([json](qat_mnist_cnn_bn_lsq_2bit_lr0.001.json)).\n"
              % (slow["recipe"]["qat_epochs"], pct(slow["test_accuracy"]),
                 pct(at_2) if isinstance(at_2, float) else str(at_2), epochs))

    md.append("## Why the tutorial's recipe collapses at low bit widths\n")
    md.append("`train_qat --inspect` on `mnist_cnn` at 3 bits, one epoch, for the tutorial's method and for lsq: per "
              "layer, each quantizer's grid, its error as SQNR (dB, split into rounding and clipping), the share "
              "of values clamped, the share of zero STE gradients and the weight codes that changed level "
              "during the epoch. docs/05-quantization.md (5.8) reads them.\n")
    for method in ("tutorial", "lsq"):
        r = load(out, "inspect_mnist_cnn_3bit_%s.json" % method)
        md.append("* %s: integer model %s — [inspection](inspect_mnist_cnn_3bit_%s.txt) ([json](inspect_mnist_cnn_3bit_%s.json))"
                  % (method, pct(r["test_accuracy"]), method, method))
    md.append("")

    md += canary_section(out)

    md.append("## Commands\n")
    md.append("All of the above: `scripts/results` (it builds, fetches MNIST, and runs each of these). The "
              "individual commands are in the script; for example the 2-bit target run is\n")
    md.append("    build/tools/train_qat --config configs/mnist_cnn_bn.json --from runs/results/mnist_cnn_bn.ckpt "
              "--bits 2 --epochs %s --report docs/results/qat_mnist_cnn_bn_lsq_2bit.json\n" % long_epochs)
    with open(os.path.join(out, "README.md.tmp"), "w") as f:
        f.write("\n".join(md))
    os.replace(os.path.join(out, "README.md.tmp"), os.path.join(out, "README.md"))


if __name__ == "__main__":
    main()
