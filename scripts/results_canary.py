#!/usr/bin/env python3
"""The canary figures of docs/results: a few cheap runs whose figures show when the code has drifted from
what docs/results says (docs/results/README.md, "Canary figures").

The full results take about 70 minutes (scripts/results); these take seconds on one core: a float model
trained one epoch on a fixed subset of MNIST, one PTQ row and one QAT lsq row from it, all evaluated on a
fixed subset of the test set, with one thread (the figures are deterministic for a given seed and thread
count). Both users run the same COMMANDS below:

    python3 scripts/results_canary.py write <out-dir>   run them, write <out-dir>/canary.json (scripts/results)
    python3 scripts/results_canary.py check <out-dir>   run them, fail naming each figure that differs from
                                                        <out-dir>/canary.json (scripts/check-results)

Environment: BUILD_DIR (default build), where the tools are.
"""
import datetime
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRATCH = "runs/canary"  # checkpoints, model files and reports of the canary runs (not results)
TRAIN_IMAGES, TEST_IMAGES, THREADS = 10000, 2000, 1  # the first images of each MNIST split
SUBSET = "--train-limit %d --test-limit %d --threads %d" % (TRAIN_IMAGES, TEST_IMAGES, THREADS)
COMMANDS = [
    "build/tools/train --config configs/mnist_cnn.json --epochs 1 %s --out %s/float.ckpt --report %s/train.json"
    % (SUBSET, SCRATCH, SCRATCH),
    "build/tools/ptq --config configs/mnist_cnn.json --from %s/float.ckpt --method tutorial --bits 3 %s "
    "--out %s/ptq.qgm --report %s/ptq.json" % (SCRATCH, SUBSET, SCRATCH, SCRATCH),
    "build/tools/train_qat --config configs/mnist_cnn.json --from %s/float.ckpt --method lsq --bits 3 --epochs 1 "
    "%s --out %s/qat.qgm --report %s/qat.json" % (SCRATCH, SUBSET, SCRATCH, SCRATCH),
]


def pct(x):
    return "%.2f %%" % (100.0 * x)


def figures(scratch):
    """[(name, value as shown)] read from the canary runs' reports, in the order the README shows them."""
    def report(name):
        with open(scratch / name) as f:
            return json.load(f)
    train, ptq, qat = report("train.json"), report("ptq.json"), report("qat.json")
    return [
        ("float: test accuracy", pct(train["test_accuracy"])),
        ("float: test loss", "%.4f" % train["test_loss"]),
        ("float: training loss of the epoch", "%.4f" % train["epoch_train_loss"][0]),
        ("PTQ tutorial 3 bits: integer accuracy", pct(ptq["test_accuracy"])),
        ("PTQ tutorial 3 bits: fake-quant accuracy", pct(ptq["fake_quant_test_accuracy"])),
        ("PTQ tutorial 3 bits: model file bytes", str(ptq["model_bytes"])),
        ("QAT lsq 3 bits: integer accuracy", pct(qat["test_accuracy"])),
        ("QAT lsq 3 bits: fake-quant accuracy", pct(qat["fake_quant_test_accuracy"])),
        ("QAT lsq 3 bits: training loss of the epoch", "%.4f" % qat["qat_epoch_train_loss"][0]),
    ]


def run_commands():
    build_dir = os.environ.get("BUILD_DIR", "build").rstrip("/")
    scratch = ROOT / SCRATCH
    scratch.mkdir(parents=True, exist_ok=True)
    for command in COMMANDS:
        command = command.replace("build/tools/", build_dir + "/tools/", 1)
        print("results_canary: " + command, flush=True)
        done = subprocess.run(["bash", "-c", command], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if done.returncode != 0:
            sys.exit("results_canary: `%s` failed with status %d:\n%s" % (command, done.returncode, done.stderr))
    return figures(scratch)


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def write(out):
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    found = run_commands()
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)" + str(out))
    canary = {
        "written_by": "scripts/results (scripts/results_canary.py); checked by scripts/check-results",
        "commit": git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else ""),
        "started": started,
        "subset": {"train_images": TRAIN_IMAGES, "test_images": TEST_IMAGES, "threads": THREADS},
        "commands": COMMANDS,
        "figures": [{"name": n, "value": v} for n, v in found],
    }
    path = pathlib.Path(out) / "canary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(canary, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: a failed run leaves the old file
    print("results_canary: wrote %s (%d figures)" % (path, len(found)))


def check(out):
    path = pathlib.Path(out) / "canary.json"
    try:
        documented = json.loads(path.read_text())
        shown = {f["name"]: f["value"] for f in documented["figures"]}
        commands = documented["commands"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit("check-results: %s: cannot read the canary figures (%s); run scripts/results --canary-only" %
                 (path, e))
    if commands != COMMANDS:
        sys.exit("check-results: %s was made with other commands than scripts/results_canary.py runs now; "
                 "run scripts/results --canary-only" % path)
    found = run_commands()
    failures = []
    for name, value in found:
        if name not in shown:
            failures.append("%s: not in %s (the code gives %s)" % (name, path, value))
        elif shown[name] != value:
            failures.append("%s: %s says %s, the code gives %s" % (name, path, shown[name], value))
    for name in shown.keys() - {n for n, _ in found}:
        failures.append("%s: in %s but no longer computed" % (name, path))
    readme = pathlib.Path(out) / "README.md"
    text = readme.read_text() if readme.exists() else ""
    for name, value in found:
        if "| %s | %s |" % (name, value) not in text:
            failures.append("%s: %s does not show it as %s" % (name, readme, value))
    if failures:
        print("\n".join("check-results: " + f for f in failures), file=sys.stderr)
        sys.exit("check-results: %d difference(s) in %d canary figures from %s (made on commit %s): the code "
                 "has drifted from the documented results; rerun scripts/results (or --canary-only if only the "
                 "canary should change) and commit what it writes" % (len(failures), len(found), out,
                                                                      documented.get("commit", "?")))
    print("check-results: all %d canary figures match %s (made on commit %s)" % (len(found), path,
                                                                                 documented.get("commit", "?")))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit("usage: results_canary.py write|check <out-dir>")
    (write if sys.argv[1] == "write" else check)(sys.argv[2])


if __name__ == "__main__":
    main()
