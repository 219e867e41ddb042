#!/usr/bin/python3
"""Trains the tutorial's Net in PyTorch and exports it to ONNX: the model a practitioner brings to quantgrad
(issue 15, item 3). The tutorial's recipe (Jermmy/pytorch-quantization-demo, train.py): SGD lr 0.01 momentum 0.5,
batch 64, seed 1, MNIST normalised with mean 0.1307 and std 0.3081 (quantgrad's normalisation, so the ONNX input
is what quantgrad's float model sees). MNIST is read from the IDX files with numpy (no torchvision).

    /usr/bin/python3 bench/torch_net_onnx.py --data data/mnist --epochs 1 --out-dir runs/onnx-roundtrip

Writes <out-dir>/net.onnx (opset 13, input "input" [N, 1, 28, 28], output "logits") and <out-dir>/torch_net.json:
{"torch_version", "seed", "epochs", "threads", "train_images", "float_test_accuracy" (percent, all 10,000 test
images), "seconds"}. scripts/onnx-roundtrip runs it, then qimport, ptq, and qexport.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import read_idx  # noqa: E402  (the IDX reader the benchmark uses)
from tutorial_nets import Net  # noqa: E402

MEAN, STD = 0.1307, 0.3081


def load_split(root, prefix):
    images = read_idx(os.path.join(root, prefix + "-images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(os.path.join(root, prefix + "-labels-idx1-ubyte")).astype(np.int64)
    x = torch.from_numpy((images - MEAN) / STD).unsqueeze(1)
    return x, torch.from_numpy(labels)


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return 100.0 * correct / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-dir", default="runs/onnx-roundtrip")
    args = parser.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    start = time.time()
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_x))
        for i in range(0, len(order), 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
        print("epoch %d: loss %.4f, test accuracy %.2f%%" % (epoch, loss.item(), evaluate(model, test_x, test_y)),
              flush=True)
    accuracy = evaluate(model, test_x, test_y)
    model.eval()
    onnx_path = os.path.join(args.out_dir, "net.onnx")
    torch.onnx.export(model, test_x[:1], onnx_path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    report = {"torch_version": torch.__version__, "seed": 1, "epochs": args.epochs, "threads": args.threads,
              "train_images": len(train_x), "float_test_accuracy": accuracy, "seconds": time.time() - start}
    with open(os.path.join(args.out_dir, "torch_net.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print("PyTorch float Net: %.2f%% on the %d test images; wrote %s" % (accuracy, len(test_x), onnx_path))


if __name__ == "__main__":
    main()
