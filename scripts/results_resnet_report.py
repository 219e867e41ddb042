#!/usr/bin/env python3
"""Writes docs/results/fashion_resnet.md from the JSON reports scripts/results-resnet leaves in OUT.

    scripts/results_resnet_report.py OUT STARTED THREADS COMMIT

Run by scripts/results-resnet after its runs, with the commit they ran on (and when they started); run alone,
it rewrites the page from the reports already in OUT, stamped with the COMMIT given.
"""
import datetime
import json
import os
import sys
out, started, threads, commit = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)
train, torch_train = load("train_fashion_resnet.json"), load("torch_train_fashion_resnet.json")
torch_int8 = load("torch_int8_fashion_resnet.json")
pct = lambda x: "%.2f %%" % (100 * x)
rate = lambda x: "{:,.0f}".format(x)
lines = [
    "# fashion_resnet: a residual network through the whole pipeline",
    "",
    "Made by `scripts/results-resnet` on commit %s, %s (runs started %s), %s threads. Do not edit: rerun "
    "the script." % (commit, datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), started, threads),
    "",
    "`configs/fashion_resnet.json`: a stem conv, three residual blocks with BatchNorm (the second downsamples, "
    "with a 1x1 projection shortcut), global average pooling and a linear classifier; %s parameters. "
    "Fashion-MNIST (Debian's dataset-fashion-mnist)." % "{:,}".format(torch_train["parameters"]),
    "",
    "## Float training, side by side (the config's recipe: SGD lr 0.05, momentum 0.9, batch 64)",
    "",
    "| | epochs | test accuracy | training images/s |",
    "| --- | --- | --- | --- |",
    "| quantgrad `train` | %d | %s | %s |" % (train["epochs"], pct(train["test_accuracy"]),
                                             rate(train["images_per_second"])),
    "| PyTorch %s (`bench/torch_resnet.py train`) | %d | %s | %s |" % (
        torch_train["torch"], torch_train["epochs"], pct(torch_train["test_accuracy"]),
        rate(torch_train["train_images_per_second"])),
    "",
    "The two start from different random weights and shuffles (each framework's own generator), so the "
    "accuracies agree statistically, not digit for digit.",
    "",
    "## Quantized",
    "",
    "| run | bits | epochs | fake-quant accuracy | integer accuracy | integer vs fake-quant agreement | "
    "qinfer accuracy |",
    "| --- | --- | --- | --- | --- | --- | --- |",
]
for kind in ["ptq", "qat"]:
    for bits in [8, 4]:
        r = load("%s_fashion_resnet_%dbit.json" % (kind, bits))
        q = ("%s" % pct(load("qinfer_fashion_resnet_%dbit.json" % bits)["test_accuracy"])) if kind == "qat" else ""
        epochs = len(r.get("qat_epoch_train_loss", [])) if kind == "qat" else "-"
        lines.append("| %s | %d | %s | %s | %s | %s | %s |" % (
            "PTQ (ema observers)" if kind == "ptq" else "QAT (lsq)", bits, epochs,
            pct(r["fake_quant_test_accuracy"]), pct(r["test_accuracy"]), pct(r["agreement"]), q))
lines += [
    "",
    "Float accuracy of the checkpoint they start from: %s. Agreement: the share of test images on which the "
    "integer model (`runtime::run`) and the fake-quant model it came from predict the same class." %
    pct(train["test_accuracy"]),
    "",
    "## Integer inference, side by side (batches of 1000 test images)",
    "",
    "| | images/s |",
    "| --- | --- |",
]
for bits in [8, 4]:
    qi = load("qinfer_fashion_resnet_%dbit.json" % bits)
    lines.append("| quantgrad `qinfer`, %d-bit QAT model | %s |" % (bits, rate(qi["images_per_second"])))
lines.append("| PyTorch float (eval, no_grad) | %s |" % rate(torch_int8["float"]["images_per_second"]))
for engine, r in sorted(torch_int8["engines"].items()):
    if "images_per_second" in r:
        lines.append("| PyTorch int8, FX PTQ, engine %s | %s |" % (engine, rate(r["images_per_second"])))
memory = load("qinfer_fashion_resnet_8bit.json")["activation_memory"]
lines += [
    "",
    "The integer runtime keeps a sample's activations in %d buffers reused by liveness (%s bytes per thread); "
    "the peak of the values alive at once is %s bytes per sample (int32 codes). PyTorch's float inference "
    "figure is below its own training rate, which does three times the work per image; it is what "
    "`bench/torch_resnet.py int8` measured (median of 3 repeats), not understood, and best not relied on." % (
        memory["buffers"], "{:,}".format(memory["buffer_bytes_per_thread"]),
        "{:,}".format(memory["peak_bytes_per_sample"])),
]
lines += ["", "Raw reports: `train_fashion_resnet.json`, `torch_train_fashion_resnet.json`, "
          "`ptq_fashion_resnet_*.json`, `qat_fashion_resnet_*.json`, `qinfer_fashion_resnet_*.json`, "
          "`torch_int8_fashion_resnet.json` in this folder.", ""]
with open(os.path.join(out, "fashion_resnet.md"), "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
