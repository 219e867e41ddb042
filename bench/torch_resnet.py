#!/usr/bin/python3
"""torch_resnet.py: the PyTorch side of the side-by-side comparison for graph configs such as
configs/fashion_resnet.json. One job per process, one JSON object on stdout, progress on stderr.

    torch_resnet.py train --config C [--epochs E] [--max-steps N] [--threads 2] [--data DIR]
    torch_resnet.py train --config C --steps N [--warmup 20] [--qat] [--batch 64] [--threads 2] [--data DIR]
    torch_resnet.py int8  --config C [--images 10000] [--batch 64] [--repeats 3] [--calibration-batches 10]
                          [--train-steps 0] [--latency-images 0] [--allow-unavailable] [--threads 2]
                          [--data DIR]

It builds the model of any quantgrad JSON config (docs/config.md, section 2.1) as a torch.nn.Module that
runs the config's layers in their order, each reading the layers named in its "inputs" ("input" being the
model input; by default the layer before it), as quantgrad's nn::Graph does. The layers with modules are
children named "0", "1", ... after their index in the config, so the parameter and buffer names are
quantgrad's ("0.weight", "1.running_mean", ...); `add`, `concat` and `flatten` have no child but call
torch.add / torch.cat / torch.flatten in forward(), which FX graph mode quantization recognises and keeps
in int8 (quantized add, add_relu, cat; flatten on the quantized tensor: torch 1.13 would dequantize around
an nn.Flatten module).

* train: PyTorch's default initialisation after torch.manual_seed(train.seed); the config's train section
  (SGD with lr, momentum, weight_decay, nesterov, or Adam with beta1, beta2, eps; batch_size; a reshuffle
  every epoch; cross-entropy; test_batch_size for the evaluation after each epoch); the images normalised
  with (x/255 - mean)/std with the dataset's statistics (datasets/mnist.cpp: MNIST 0.1307/0.3081,
  Fashion-MNIST 0.2860/0.3530), per batch, inside the timed loop, as quantgrad's DataLoader does. The last
  partial batch of an epoch is dropped exactly when quantgrad drops it (app/training_batches.cpp): when it
  would give some batchnorm2d layer fewer than two values per channel. The reported training images/s
  counts only the training loops, not the evaluations; the loss of an epoch is the mean over its images.
* train --steps N: a timing job, the recipe of bench/torch_bench.py's train job and bench/qg_bench.cpp's,
  for bench/run's benchmark suite: --warmup untimed and N timed steps of --batch shuffled training images
  (reshuffled every epoch, the last partial batch dropped), SGD with the config's lr and momentum (no
  weight decay, as qg_bench); it prints images_per_second, gflops and mflop_per_image (conv and linear
  multiply-accumulates of a step, counted as torch_bench.py and qg_bench do) and peak_rss_mb.
* train --steps N --qat: the same timing job on the tutorial's 8-bit quantization-aware training
  (Jermmy/pytorch-quantization-demo, quantgrad's `tutorial` method), here on PyTorch's FX graph mode QAT:
  prepare_qat_fx with one qconfig for every op (tutorial_qconfig_mapping): FakeQuantize with an all-time
  MinMaxObserver (the tutorial's running min/max, widened to include 0), per tensor, affine, 8 bits
  (activations quint8 [0, 255], weights qint8 [-128, 127]: the same 256-level grid over [min, max] as the
  tutorial's unsigned weight codes), the fbgemm backend config; SGD with the tutorial method's QAT lr 0.01
  and momentum 0.5 (torch_bench.py's qat_hyper_parameters). What differs from quantgrad's (and
  torch_bench.py's eager) tutorial QAT:
    - conv + batchnorm (+ relu) becomes torch.ao.nn.intrinsic.qat.ConvBn(ReLU)2d, which folds the batch
      norm into the fake-quantized weight while training by scaling the weight with gamma / sqrt(running
      var) and correcting the conv's output with the batch statistics: one convolution a step, where the
      tutorial (QConvBNReLU) runs a second, unfolded convolution to take the batch statistics;
    - FX fake-quantizes the model input and the output of every op the backend config quantizes: the fused
      conv blocks, the linear, and add + relu (one quantizer after the relu); global average pooling and
      flatten share their input's quantizer. The tutorial's Sequential models have no adds; quantgrad's
      graph QAT quantizes add + relu the same way (quant/qat/qadd.h);
    - the fake-quantization is PyTorch's fused kernel (x * (1/s) rounded), the tutorial's rounds x / s.
* int8: PyTorch's own post-training int8 inference, FX graph mode (prepare_fx / convert_fx with
  get_default_qconfig_mapping(engine)), for every quantized engine this build offers (x86, fbgemm, onednn,
  qnnpack): observers calibrated on --calibration-batches batches of training images, then the int8 model
  and the float model (eval mode, inference_mode) timed on --images test images in batches of --batch after
  a warm-up, --repeats times (the median is reported, and every run: timings on a shared 2-core machine
  vary several-fold when another process wakes up). The weights are the random initialisation unless
  --train-steps N trains the float model for N steps first (the accuracies only mean something then, and
  then show whether int8 keeps the float accuracy; with 0 they are ~10-20%, and the speed is the same).
  --latency-images N (for bench/run's suite, as torch_bench.py's int8 job) also times N single images one at
  a time on every engine, after 50 untimed ones, and reports the fastest engine's median and 99th
  percentile; --allow-unavailable prints {"unavailable": every engine's error} instead of failing when no
  engine can run the model (bench/run's suite shows "not available").

Differences from quantgrad (none changes the work of a step):
* the weights start from PyTorch's generator, not quantgrad's: the same distributions (kaiming-uniform for
  conv/linear weights, uniform biases, BN weight 1 and bias 0), different values; the shuffling order and
  dropout masks differ for the same reason, so losses and accuracies agree statistically, not bit for bit;
* dropout draws from torch's global generator, where quantgrad gives every Dropout its own, seeded from the
  config's generator at construction;
* quantgrad prefetches the next batch on another thread while a step runs; here batches are made in line.

Run it with Debian's /usr/bin/python3 (python3-torch 1.13, python3-numpy).
"""

import argparse
import copy
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import backend_config as fx_backends
from torch.ao.quantization import FakeQuantize, MinMaxObserver, QConfig, QConfigMapping, get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx, prepare_qat_fx

from torch_bench import peak_rss_mb, qat_hyper_parameters, timed_training  # bench/ is this script's directory: on sys.path

# The training-set statistics quantgrad normalises with (datasets/mnist.cpp, normalization()).
DATASETS = {
    "mnist": {"mean": 0.1307, "std": 0.3081, "root": "data/mnist"},
    "fashion-mnist": {"mean": 0.2860, "std": 0.3530, "root": "/usr/share/datasets/fashion-mnist"},
}

# quantgrad's accepted spellings of layer types (config/layer_kinds.cpp, the `aliases` of each row).
ALIASES = {"max_pool2d": "maxpool2d", "avg_pool2d": "avgpool2d", "batch_norm2d": "batchnorm2d",
           "global_avg_pool2d": "global_avgpool"}


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ---- data --------------------------------------------------------------------------------------------------

def read_idx(root, name):
    """An IDX file as a numpy array: root/name, else root/name.gz (the Debian package ships .gz files)."""
    path = os.path.join(root, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
    elif os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            data = f.read()
    else:
        raise FileNotFoundError("torch_resnet: neither %s nor %s.gz exists (Fashion-MNIST: apt-get install "
                                "dataset-fashion-mnist, or scripts/get-data --fashion)" % (path, path))
    magic, = struct.unpack(">I", data[:4])
    if magic >> 8 != 0x08:  # 0x0000080N: unsigned bytes, N dimensions
        raise ValueError("torch_resnet: %s: expected an IDX file of unsigned bytes, found magic 0x%08x"
                         % (path, magic))
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Split:
    """One split's images as uint8 [N, 1, H, W] and labels; batches normalised on the fly."""

    def __init__(self, root, train, mean, std):
        prefix = "train" if train else "t10k"
        self.images = torch.from_numpy(read_idx(root, prefix + "-images-idx3-ubyte").copy()).unsqueeze(1)
        self.labels = torch.from_numpy(read_idx(root, prefix + "-labels-idx1-ubyte").astype(np.int64))
        self.mean, self.std = mean, std

    def __len__(self):
        return self.images.shape[0]

    def batch(self, indices):
        """(x/255 - mean)/std of the images at `indices` (a LongTensor), and their labels."""
        x = self.images.index_select(0, indices).float().div_(255.0).sub_(self.mean).div_(self.std)
        return x, self.labels.index_select(0, indices)

    def range(self, first, last):
        return self.batch(torch.arange(first, min(last, len(self))))


def load_data(config, root, test=True):
    """(train split, test split or None without `test`, dataset name, directory): --data, else the config's
    data.root, else the dataset's default root (quantgrad's default_root)."""
    dataset = config.get("data", {}).get("dataset", "mnist")
    stats = DATASETS[dataset]
    root = root or config.get("data", {}).get("root") or stats["root"]
    train = Split(root, True, stats["mean"], stats["std"])
    return train, Split(root, False, stats["mean"], stats["std"]) if test else None, dataset, root


# ---- the model: a config's layers as a graph ---------------------------------------------------------------

def conv_size(size, kernel, stride, padding, dilation=1):
    """PyTorch's output size of a convolution or pooling window (docs/config.md, section 3)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def build_layer(spec, shapes):
    """The module of one layer (None for add, concat and flatten, which forward() computes) and its output
    shape, given its input shapes (without the batch axis)."""
    kind = ALIASES.get(spec["type"], spec["type"])
    shape = shapes[0]
    if kind == "flatten":
        return None, [int(np.prod(shape))]
    if kind in ("add", "concat"):
        if kind == "add" and (len(shapes) != 2 or shapes[0] != shapes[1]):
            raise ValueError("torch_resnet: add needs two inputs of one shape, found %s" % shapes)
        out = list(shape)
        out[0] = sum(s[0] for s in shapes) if kind == "concat" else shape[0]
        return None, out
    if len(shapes) != 1:
        raise ValueError("torch_resnet: %s reads one input, found %d" % (kind, len(shapes)))
    if kind == "conv2d":
        c, h, w = shape
        k, s, p = spec["kernel_size"], spec.get("stride", 1), spec.get("padding", 0)
        d = spec.get("dilation", 1)
        conv = nn.Conv2d(c, spec["out_channels"], k, s, p, d, spec.get("groups", 1), bias=spec.get("bias", True))
        return conv, [spec["out_channels"], conv_size(h, k, s, p, d), conv_size(w, k, s, p, d)]
    if kind in ("maxpool2d", "avgpool2d"):
        c, h, w = shape
        k = spec["kernel_size"]
        s, p = spec.get("stride", k), spec.get("padding", 0)
        pool = nn.MaxPool2d(k, s, p) if kind == "maxpool2d" else nn.AvgPool2d(k, s, p, count_include_pad=True)
        return pool, [c, conv_size(h, k, s, p), conv_size(w, k, s, p)]
    if kind == "batchnorm2d":
        return nn.BatchNorm2d(shape[0], eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1)), shape
    if kind == "relu":
        return nn.ReLU(), shape
    if kind == "relu6":
        return nn.ReLU6(), shape
    if kind == "dropout":
        return nn.Dropout(spec.get("p", 0.5)), shape
    if kind == "global_avgpool":
        return nn.AdaptiveAvgPool2d(1), [shape[0], 1, 1]
    if kind == "linear":
        if len(shape) != 1:
            raise ValueError("torch_resnet: linear needs a flattened input, found %s" % shape)
        return nn.Linear(shape[0], spec["out_features"], bias=spec.get("bias", True)), [spec["out_features"]]
    raise ValueError("torch_resnet: layer type %r is not supported" % spec["type"])


class ConfigGraph(nn.Module):
    """A quantgrad config's layers run in order, each reading its "inputs" (torch.fx.GraphModule's idea,
    quantgrad's nn::Graph): children "0", "1", ... by config index; add, concat and flatten have none.

    `self.plan` holds, per layer, (its kind, its child's name or None, the indices it reads, -1 for the model
    input, and the layers whose outputs can be let go after it). It is plain Python over a fixed list, so
    torch.fx traces forward() into a flat graph of module calls and torch.add / torch.cat / torch.flatten."""

    def __init__(self, config):
        super().__init__()
        names = {"input": -1}
        shapes = {-1: list(config["input"]["shape"])}
        reads = []
        for i, spec in enumerate(config["layers"]):
            inputs = [names[n] for n in spec["inputs"]] if "inputs" in spec else [i - 1]
            module, shapes[i] = build_layer(spec, [shapes[j] for j in inputs])
            if module is not None:
                self.add_module(str(i), module)  # created in config order: torch.manual_seed decides them all
            if "name" in spec:
                names[spec["name"]] = i
            reads.append(inputs)
        last_reader = {}
        for i, inputs in enumerate(reads):
            for j in inputs:
                last_reader[j] = i
        self.plan = []
        for i, (spec, inputs) in enumerate(zip(config["layers"], reads)):
            kind = ALIASES.get(spec["type"], spec["type"])
            done = [j for j in set(inputs) if last_reader[j] == i]
            self.plan.append((kind, str(i) if str(i) in self._modules else None, inputs, done))

    def forward(self, x):
        outputs = {-1: x}
        for i, (kind, child, inputs, done) in enumerate(self.plan):
            if kind == "add":
                y = torch.add(outputs[inputs[0]], outputs[inputs[1]])
            elif kind == "concat":
                y = torch.cat([outputs[j] for j in inputs], 1)
            elif kind == "flatten":
                y = torch.flatten(outputs[inputs[0]], 1)
            else:
                y = getattr(self, child)(outputs[inputs[0]])
            for j in done:  # release what no later layer reads (autograd keeps what backward needs)
                del outputs[j]
            outputs[i] = y
        return outputs[len(self.plan) - 1]


def batch_norm_starved(model, config, batch):
    """True when a batch of `batch` images gives some BatchNorm2d fewer than two values per channel
    (app/training_batches.cpp, batch_norm_starved_by)."""
    shapes = {}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, i[0].shape))
             for name, m in model.named_children() if isinstance(m, nn.BatchNorm2d)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros([2] + list(config["input"]["shape"])))
    for h in hooks:
        h.remove()
    return any(batch * s[2] * s[3] < 2 for s in shapes.values())


# ---- train -------------------------------------------------------------------------------------------------

def make_optimizer(model, train):
    """The config's optimizer over every parameter (quantgrad's make_optimizer; weight decay is L2 in both)."""
    lr, wd = train.get("lr", 0.01), train.get("weight_decay", 0.0)
    if train.get("optimizer", "sgd") == "adam":
        betas = (train.get("beta1", 0.9), train.get("beta2", 0.999))
        return torch.optim.Adam(model.parameters(), lr=lr, betas=betas, eps=train.get("eps", 1e-8), weight_decay=wd)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=train.get("momentum", 0.5), weight_decay=wd,
                           nesterov=train.get("nesterov", False))


def evaluate(model, test, batch_size):
    """(mean cross-entropy, accuracy) over the test split, in eval mode."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for first in range(0, len(test), batch_size):
            x, y = test.range(first, first + batch_size)
            logits = model(x)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
    return loss / len(test), correct / len(test)


def train_steps(model, optimizer, train, order, batch_size, drop_last, max_steps=None):
    """One pass over `order` in batches; returns (images, loss summed over images, seconds)."""
    model.train()
    n = len(order)
    last = n - batch_size + 1 if drop_last else n
    images, loss_sum, steps = 0, 0.0, 0
    start = time.perf_counter()
    for first in range(0, last, batch_size):
        if max_steps is not None and steps == max_steps:
            break
        x, y = train.batch(order[first:first + batch_size])
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        value = loss.item()
        if not np.isfinite(value):
            raise RuntimeError("torch_resnet: training diverged at step %d (loss %s)" % (steps + 1, value))
        loss.backward()
        optimizer.step()
        images += x.shape[0]
        loss_sum += value * x.shape[0]
        steps += 1
        if steps % 100 == 0:
            log("  step %d: loss %.4f, %.0f images/s" % (steps, value, images / (time.perf_counter() - start)))
    return images, loss_sum, time.perf_counter() - start


def job_train(args, config):
    train_cfg = config.get("train", {})
    epochs = args.epochs if args.epochs is not None else train_cfg.get("epochs", 5)
    batch_size = train_cfg.get("batch_size", 64)
    seed = train_cfg.get("seed", 1)
    train, test, dataset, root = load_data(config, args.data)
    torch.manual_seed(seed)
    model = ConfigGraph(config)
    optimizer = make_optimizer(model, train_cfg)
    partial = len(train) % batch_size if len(train) > batch_size else 0
    drop_last = partial > 0 and batch_norm_starved(model, config, partial)
    if drop_last:
        log("Note: dropping the last batch of every epoch (drop_last): %d images in batches of %d leave %d, "
            "too few for a batchnorm2d layer" % (len(train), batch_size, partial))
    log("%s: %d parameters, %s on %s (%s), %d epochs, threads %d"
        % (config["name"], sum(p.numel() for p in model.parameters()), train_cfg.get("optimizer", "sgd"),
           dataset, root, epochs, torch.get_num_threads()))

    shuffle = torch.Generator().manual_seed(seed)
    epoch_loss, epoch_accuracy, epoch_test_loss, epoch_seconds = [], [], [], []
    images, seconds, eval_images, eval_seconds = 0, 0.0, 0, 0.0
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train), generator=shuffle)
        n, loss_sum, s = train_steps(model, optimizer, train, order, batch_size, drop_last, args.max_steps)
        images, seconds = images + n, seconds + s
        t0 = time.perf_counter()
        test_loss, accuracy = evaluate(model, test, train_cfg.get("test_batch_size", 1000))
        eval_seconds += time.perf_counter() - t0
        eval_images += len(test)
        epoch_loss.append(loss_sum / n)
        epoch_test_loss.append(test_loss)
        epoch_accuracy.append(accuracy)
        epoch_seconds.append(s)
        log("epoch %d: train loss %.4f, test loss %.4f, accuracy %.2f%% (%.1f s, %.0f images/s)"
            % (epoch, loss_sum / n, test_loss, 100 * accuracy, s, n / s))
    return {"config": config["name"], "dataset": dataset, "epochs": epochs, "max_steps": args.max_steps,
            "batch_size": batch_size, "drop_last": drop_last,
            "last_batch": "dropped (%d images: too few for a batchnorm2d, as quantgrad drops it)" % partial
            if drop_last else "trained (%d images)" % (partial or batch_size),
            "parameters": sum(p.numel() for p in model.parameters()),
            "epoch_train_loss": epoch_loss, "epoch_test_loss": epoch_test_loss,
            "epoch_test_accuracy": epoch_accuracy, "epoch_train_seconds": epoch_seconds,
            "test_accuracy": epoch_accuracy[-1] if epochs else None,
            "train_images_per_second": images / seconds if seconds > 0 else None,
            "eval_images_per_second": eval_images / eval_seconds if eval_seconds > 0 else None}


# ---- train --steps: the benchmark suite's timing job ---------------------------------------------------------

TUTORIAL_BITS = 8


def tutorial_qconfig_mapping():
    """One QAT qconfig for every op, as close to the tutorial's quantizers as torch.ao allows: all-time
    min/max observers (MinMaxObserver, not the moving average of PyTorch's default QAT qconfig), per tensor,
    affine, 8 bits, activations unsigned and weights signed (the same grid as unsigned weight codes)."""
    levels = 2 ** TUTORIAL_BITS
    activation = FakeQuantize.with_args(observer=MinMaxObserver, quant_min=0, quant_max=levels - 1,
                                        dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False)
    weight = FakeQuantize.with_args(observer=MinMaxObserver, quant_min=-levels // 2, quant_max=levels // 2 - 1,
                                    dtype=torch.qint8, qscheme=torch.per_tensor_affine, reduce_range=False)
    return QConfigMapping().set_global(QConfig(activation=activation, weight=weight))


def step_cost(model, config):
    """Multiply-accumulates of a training step for one image: conv and linear layers, forward, weight
    gradient and, for every such layer but the first in config order, input gradient (qg_bench's
    step_cost, torch_bench.py's)."""
    macs = []
    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            macs.append(output.numel() * per_output)
        else:
            macs.append(module.in_features * module.out_features)
    layers = [m for _, m in model.named_children() if isinstance(m, (nn.Conv2d, nn.Linear))]  # config order
    hooks = [m.register_forward_hook(count) for m in layers]
    model.eval()
    with torch.no_grad():
        model(torch.zeros([1] + list(config["input"]["shape"])))
    for h in hooks:
        h.remove()
    return sum(m * (2 if i == 0 else 3) for i, m in enumerate(macs))


def shuffled_batches(split, batch_size, seed):
    """Shuffled batches of `split`, epoch after epoch, forever; the last partial batch of each is dropped."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(split), generator=gen)
        for first in range(0, len(split) - batch_size + 1, batch_size):
            yield split.batch(order[first:first + batch_size])


def job_train_timed(args, config):
    """bench/run's training job: --warmup untimed and --steps timed steps, float or the tutorial's QAT."""
    train, _, _, _ = load_data(config, args.data, test=False)
    torch.manual_seed(config["train"]["seed"])
    model = ConfigGraph(config)
    training_macs = step_cost(model, config)
    batches = shuffled_batches(train, args.batch, 1)
    if args.qat:
        model.train()
        model = prepare_qat_fx(model, tutorial_qconfig_mapping(), (next(batches)[0],),
                               backend_config=fx_backends.get_fbgemm_backend_config())
        lr, momentum = qat_hyper_parameters(config, "tutorial")
    else:
        lr, momentum = config["train"]["lr"], config["train"]["momentum"]
    ips = timed_training(model, batches, lr, momentum, args.warmup, args.steps, "torch_resnet")
    return {"config": config["name"], "qat": args.qat, "steps": args.steps, "warmup": args.warmup,
            "batch": args.batch, "images_per_second": ips, "gflops": ips * 2 * training_macs * 1e-9,
            "mflop_per_image": 2 * training_macs * 1e-6, "peak_rss_mb": peak_rss_mb()}


# ---- int8: FX graph mode post-training quantization --------------------------------------------------------

def backend_config(engine):
    """The FX backend config for an engine (torch 1.13 has fbgemm's and qnnpack's; the rest use native)."""
    if engine in ("fbgemm", "x86"):
        return fx_backends.get_fbgemm_backend_config()
    if engine == "qnnpack":
        return fx_backends.get_qnnpack_backend_config()
    return fx_backends.get_native_backend_config()


def quantize_fx(float_model, engine, calibration, example):
    """prepare_fx -> calibration -> convert_fx with the engine's default qconfig mapping."""
    torch.backends.quantized.engine = engine
    model = copy.deepcopy(float_model).eval()  # every engine quantizes the same float model
    prepared = prepare_fx(model, get_default_qconfig_mapping(engine), (example,),
                          backend_config=backend_config(engine))
    with torch.inference_mode():
        for x in calibration:
            prepared(x)
    return convert_fx(prepared, backend_config=backend_config(engine))


def time_inference(model, batches, images, repeats):
    """images/s of `repeats` timed runs over `images` images cycled from `batches`, after a warm-up of 3
    batches, and the accuracy on the images of one pass over the batches."""
    runs = []
    with torch.inference_mode():
        for x, _ in batches[:3]:
            model(x)
        for _ in range(repeats):
            done, start, i = 0, time.perf_counter(), 0
            while done < images:
                done += model(batches[i][0]).shape[0]
                i = (i + 1) % len(batches)
            runs.append(done / (time.perf_counter() - start))
        correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in batches)
    return runs, correct / sum(y.shape[0] for _, y in batches)


def speed(runs, accuracy):
    """A timed model's entry in the output: the median run (robust on a shared machine) and every run."""
    return {"images_per_second": float(np.median(runs)), "images_per_second_runs": runs, "accuracy": accuracy}


def time_latency(model, singles):
    """Milliseconds per image, one image at a time, over `singles` after 50 untimed ones: (median, p99)."""
    latencies = []
    with torch.inference_mode():
        for i, x in enumerate(singles):
            t0 = time.perf_counter()
            model(x)
            if i >= 50:
                latencies.append((time.perf_counter() - t0) * 1e3)
    latencies.sort()
    quantile = lambda q: latencies[int(q * (len(latencies) - 1))]
    return quantile(0.5), quantile(0.99)


def job_int8(args, config):
    train, test, dataset, _ = load_data(config, args.data)
    torch.manual_seed(config.get("train", {}).get("seed", 1))
    model = ConfigGraph(config)
    if args.train_steps:
        train_cfg = config.get("train", {})
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(train_cfg.get("seed", 1)))
        batch_size = train_cfg.get("batch_size", 64)
        log("training the float model for %d steps" % args.train_steps)
        train_steps(model, make_optimizer(model, train_cfg), train, order, batch_size, True, args.train_steps)
    model.eval()
    n = min(args.images, len(test))
    batches = [test.range(first, min(first + args.batch, n)) for first in range(0, n, args.batch)]
    calibration = [train.range(i * args.batch, (i + 1) * args.batch)[0] for i in range(args.calibration_batches)]
    singles = [test.range(i, i + 1)[0] for i in range(args.latency_images + 50)] if args.latency_images else []

    float_speed = speed(*time_inference(model, batches, n, args.repeats))
    log("float: %.0f images/s, accuracy %.2f%%" % (float_speed["images_per_second"], 100 * float_speed["accuracy"]))
    wanted = ["x86", "fbgemm", "onednn", "qnnpack"]
    engines = [e for e in wanted if e in torch.backends.quantized.supported_engines]
    int8 = {}
    for engine in engines:
        try:
            quantized = quantize_fx(model, engine, calibration, batches[0][0])
            int8[engine] = speed(*time_inference(quantized, batches, n, args.repeats))
            if singles:
                int8[engine]["latency_median_ms"], int8[engine]["latency_p99_ms"] = time_latency(quantized, singles)
            log("int8 %s: %.0f images/s, accuracy %.2f%%" % (engine, int8[engine]["images_per_second"],
                                                              100 * int8[engine]["accuracy"]))
        except Exception as error:  # an engine that cannot run this model
            int8[engine] = {"error": str(error).splitlines()[0][:300]}
            log("int8 %s: failed: %s" % (engine, int8[engine]["error"]))
    timed = {e: r for e, r in int8.items() if "images_per_second" in r}
    result = {"config": config["name"], "dataset": dataset, "images": n, "batch": args.batch,
              "repeats": args.repeats, "train_steps": args.train_steps,
              "calibration_batches": args.calibration_batches, "float": float_speed, "engines": int8,
              "peak_rss_mb": peak_rss_mb()}
    if not timed:
        if not args.allow_unavailable:
            raise RuntimeError("torch_resnet: no quantized engine could run the model: %s" % int8)
        result["unavailable"] = "; ".join("%s: %s" % (e, r["error"]) for e, r in int8.items())
        return result  # reported as "not available" by bench/run's suite, not as a failed run
    best = max(timed, key=lambda e: timed[e]["images_per_second"])
    result.update({"engine": best, "images_per_second": timed[best]["images_per_second"]})
    if singles:
        fastest = min(timed, key=lambda e: timed[e]["latency_median_ms"])
        result.update({"latency_engine": fastest, "latency_median_ms": timed[fastest]["latency_median_ms"],
                       "latency_p99_ms": timed[fastest]["latency_p99_ms"]})
    return result


def main():
    parser = argparse.ArgumentParser(description="PyTorch side of the comparison for graph configs")
    parser.add_argument("job", choices=["train", "int8"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--epochs", type=int, default=None, help="train: epochs (default: the config's)")
    parser.add_argument("--max-steps", type=int, default=None, help="train: at most N steps per epoch (smoke)")
    parser.add_argument("--steps", type=int, default=None,
                        help="train: a timing job of N timed steps (bench/run's suite) instead of epochs")
    parser.add_argument("--warmup", type=int, default=20, help="train --steps: untimed steps first")
    parser.add_argument("--qat", action="store_true", help="train --steps: the tutorial's 8-bit QAT (FX)")
    parser.add_argument("--images", type=int, default=10000, help="int8: test images timed")
    parser.add_argument("--batch", type=int, default=64, help="int8: inference batch; train --steps: batch")
    parser.add_argument("--repeats", type=int, default=3, help="int8: timed runs per model (the median counts)")
    parser.add_argument("--calibration-batches", type=int, default=10, help="int8: training batches")
    parser.add_argument("--train-steps", type=int, default=0, help="int8: train the float model first")
    parser.add_argument("--latency-images", type=int, default=0, help="int8: single images timed per engine")
    parser.add_argument("--allow-unavailable", action="store_true",
                        help="int8: when no engine can run the model, print {\"unavailable\": reasons} and exit 0")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=None, help="the IDX directory (default: the config's data.root)")
    args = parser.parse_args()
    if args.qat and (args.job != "train" or args.steps is None):
        parser.error("--qat is a training timing job: it needs train --steps")
    if args.steps is not None and (args.epochs is not None or args.max_steps is not None):
        parser.error("--steps (a timing job) and --epochs / --max-steps (a training run) exclude each other")
    if args.steps is not None and args.steps < 1 or args.warmup < 0 or args.latency_images < 0:
        parser.error("--steps must be at least 1, --warmup and --latency-images at least 0")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    with open(args.config) as f:
        config = json.load(f)
    job = {"train": job_train_timed if args.steps is not None else job_train, "int8": job_int8}[args.job]
    result = job(args, config)
    result.update({"job": args.job, "torch": torch.__version__, "threads": torch.get_num_threads()})
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
