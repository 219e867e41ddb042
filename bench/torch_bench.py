#!/usr/bin/python3
"""torch_bench.py: the PyTorch side of bench/run. One job per process, one JSON object on stdout.

    torch_bench.py train  --config C [--qat [--lsq] [--bits 8]] [--batch 64] [--steps 200] [--warmup 20]
                          [--threads 2] [--width 1]
    torch_bench.py infer  --config C [--batch 64] [--images 20000] [--threads 2]
    torch_bench.py int8   --config C [--batch 64] [--images 20000] [--latency-images 2000] [--threads 2]
                          [--engine E] [--allow-unavailable]

It builds the model of a sequential quantgrad JSON config (configs/*.json, bench/suite/*.json: conv2d with
stride, padding, dilation and groups, batchnorm2d, relu, relu6, maxpool2d and avgpool2d with stride and
padding, global_avgpool, dropout, flatten, linear) as a torch.nn.Sequential and runs the same recipe as
bench/qg_bench.cpp:

* data: the MNIST training images kept as uint8, a shuffled batch normalised with (x/255 - mean)/std per
  step (what quantgrad's DataLoader does); SGD lr/momentum from the config; cross-entropy;
* train --qat: the tutorial's quantization-aware training (Jermmy/pytorch-quantization-demo, module.py),
  rewritten here: min/max observers updated every step, FakeQuantize with a straight-through estimator
  on the input, every weight and every conv/linear output; for a conv followed by batch norm, the batch
  statistics are folded into the conv weights during training (QConvBNReLU); SGD with the tutorial
  method's QAT lr 0.01 and momentum 0.5 (config/quant_recipe.cpp), as before the configs stopped spelling
  them out;
* train --qat --lsq [--bits B]: quantgrad's `lsq` method (issue 11; quant/points/learned_point.h,
  quant/fake_quantize_learnable.h, quant/qat_model.cpp, app/qat_recipe.cpp) built on PyTorch's
  torch.ao.quantization._learnable_fake_quantize._LearnableFakeQuantize (LsqFakeQuantize below), i.e. on
  torch._fake_quantize_learnable_per_tensor_affine / _per_channel_affine:
    - the model input: per tensor, unsigned [0, 2^B - 1], learned zero point (LSQ+);
    - every conv/linear weight: per output channel, signed symmetric [-2^(B-1), 2^(B-1) - 1], zero point 0
      (not learned);
    - every conv/linear output: after its ReLU (the ReLU that follows it is fused, applied before the
      quantizer) unsigned [0, 2^B - 1] with zero point 0 fixed; without a ReLU (the classifier) unsigned
      with a learned zero point (LSQ+);
    - a conv followed by batch norm: the BN frozen from the start, i.e. the conv weight and bias folded with
      the BN's running statistics (not updated) before the weight's fake-quantizer; gamma and beta train;
    - the bias fake-quantized to the accumulator grid S_in * S_w[c] with a straight-through gradient;
    - LSQ's initialisation from the first tensor seen, s = 2 mean|x| / sqrt(Qp) (per channel for weights),
      z = -min(x) / s for a learned zero point; the gradient scale g = 1 / sqrt(N Qp) with N the values
      per output channel (weights) or per sample (activations) and Qp quantgrad's largest positive level
      (2^(B-1) - 1 for weights, qmax - qmin for activations); the step size kept >= FLT_EPSILON and a
      learned zero point inside [qmin, qmax] before every step, as quantgrad's LearnedPoint does;
    - SGD over all parameters (quantizer step sizes and zero points included, no weight decay) with the
      lsq method's QAT lr 0.01 and momentum 0.9.
  Differences from quantgrad (none changes the work of a step much):
    - _LearnableFakeQuantize's own gradient scale is 1 / sqrt(numel(x) qmax), over the whole batch, and it
      leaves the zero point unclamped, so LsqFakeQuantize overrides forward(); the rest of the module
      (parameters, eps clamp, enable flags) is PyTorch's;
    - the output quantizer is PyTorch's float fake-quantization of the output, where quantgrad reproduces
      the integer model's fixed-point requantization of the accumulator (same grid; the rounding can differ
      in the last code), and PyTorch's kernels round x * (1/s) where quantgrad rounds x / s;
    - PyTorch's learnable ops also compute a zero-point gradient for the quantizers whose zero point is
      fixed (weights, outputs after a ReLU), which autograd then drops;
    - the weights start from PyTorch's default initialisation, as in every job here;
    - the learning rate stays constant on both sides of the benchmark, where train_qat follows the recipe's
      cosine schedule (one learning-rate update per step).
* int8: torch.ao.quantization eager mode, QAT (fused conv+relu / conv+bn+relu / linear+relu) then convert,
  for every quantized engine this build offers (onednn, qnnpack, x86, fbgemm); each is timed and all are
  reported. Pools, global average pooling, flatten and dropout (the identity in eval mode) run on the
  quantized tensors. An engine that cannot run the model is reported with its error; when none can, the job
  fails, or with --allow-unavailable prints {"unavailable": the engines' errors} (bench/run's suite shows
  "not available").

Run it with Debian's /usr/bin/python3 (python3-torch; `scripts/setup --bench` installs it).
"""

import argparse
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization._learnable_fake_quantize import _LearnableFakeQuantize
from torch.ao.quantization.observer import MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---- data ----------------------------------------------------------------------------------------------

def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Mnist:
    """The training images as uint8 [N, 1, 28, 28] and labels; batches normalised on the fly."""

    def __init__(self, root):
        self.images = torch.from_numpy(read_idx(os.path.join(root, "train-images-idx3-ubyte")).copy()).unsqueeze(1)
        self.labels = torch.from_numpy(read_idx(os.path.join(root, "train-labels-idx1-ubyte")).astype(np.int64))

    def batch(self, indices):
        x = self.images.index_select(0, indices).float().div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD)
        return x, self.labels.index_select(0, indices)

    def batches(self, batch_size, seed):
        """Shuffled batches, epoch after epoch, forever."""
        gen = torch.Generator().manual_seed(seed)
        n = self.images.shape[0]
        while True:
            order = torch.randperm(n, generator=gen)
            for first in range(0, n - batch_size + 1, batch_size):
                yield self.batch(order[first:first + batch_size])


# ---- models --------------------------------------------------------------------------------------------

def load_config(path, width):
    with open(path) as f:
        config = json.load(f)
    for layer in config["layers"]:
        if layer["type"] == "conv2d":
            layer["out_channels"] *= width
            if layer.get("groups", 1) > 1:
                layer["groups"] *= width
    return config


def build_model(config):
    """The config's layers as a torch.nn.Sequential (PyTorch's default initialisation)."""
    channels, height, width = config["input"]["shape"]
    features = None
    layers = []
    for spec in config["layers"]:
        kind = spec["type"]
        if kind == "conv2d":
            k, s, p = spec["kernel_size"], spec.get("stride", 1), spec.get("padding", 0)
            d = spec.get("dilation", 1)
            layers.append(nn.Conv2d(channels, spec["out_channels"], k, s, p, d, spec.get("groups", 1),
                                    bias=spec.get("bias", True)))
            channels = spec["out_channels"]
            height = (height + 2 * p - d * (k - 1) - 1) // s + 1
            width = (width + 2 * p - d * (k - 1) - 1) // s + 1
        elif kind == "batchnorm2d":
            layers.append(nn.BatchNorm2d(channels))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind in ("maxpool2d", "avgpool2d"):
            k, p = spec["kernel_size"], spec.get("padding", 0)
            s = spec.get("stride", k)
            # avg: the padded zeros count in the mean, as in quantgrad (count_include_pad=True).
            layers.append(nn.MaxPool2d(k, s, p) if kind == "maxpool2d" else nn.AvgPool2d(k, s, p))
            height = (height + 2 * p - k) // s + 1
            width = (width + 2 * p - k) // s + 1
        elif kind == "global_avgpool":
            layers.append(nn.AdaptiveAvgPool2d(1))
            height = width = 1
        elif kind == "relu6":
            layers.append(nn.ReLU6())
        elif kind == "dropout":
            layers.append(nn.Dropout(spec.get("p", 0.5)))
        elif kind == "flatten":
            layers.append(nn.Flatten())
            features = channels * height * width
        elif kind == "linear":
            layers.append(nn.Linear(features, spec["out_features"], bias=spec.get("bias", True)))
            features = spec["out_features"]
        else:
            raise ValueError("torch_bench: layer type %r is not supported" % kind)
    return nn.Sequential(*layers)


def step_cost(model):
    """Multiply-accumulates of one forward pass of one image (conv and linear layers), and of a training
    step (forward, weight gradient, and input gradient for every layer but the first)."""
    forward, training, first = 0.0, 0.0, True
    x = torch.zeros(1, 1, 28, 28)
    for layer in model:
        y = layer(x)
        macs = 0
        if isinstance(layer, nn.Conv2d):
            macs = y.numel() * layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, nn.Linear):
            macs = layer.in_features * layer.out_features
        if macs:
            forward += macs
            training += macs * (2 if first else 3)
            first = False
        x = y
    return forward, training


# ---- the tutorial's quantization-aware training ----------------------------------------------------------

class QParam:
    """Running min/max of a tensor and the (scale, zero point) of unsigned `bits`-bit codes for it."""

    def __init__(self, bits=8):
        self.qmax = 2.0 ** bits - 1.0
        self.min = None
        self.max = None

    def update(self, t):
        lo, hi = t.min().clamp(max=0.0), t.max().clamp(min=0.0)
        self.min = lo if self.min is None else torch.minimum(self.min, lo)
        self.max = hi if self.max is None else torch.maximum(self.max, hi)
        self.scale = (self.max - self.min).clamp(min=1e-8) / self.qmax
        self.zero_point = (self.qmax - self.max / self.scale).clamp(0.0, self.qmax).round()


class FakeQuantize(torch.autograd.Function):
    """x -> S (clamp(round(Z + x / S)) - Z); backward: the straight-through estimator (identity)."""

    @staticmethod
    def forward(ctx, x, qparam):
        q = (qparam.zero_point + x / qparam.scale).clamp_(0.0, qparam.qmax).round_()
        return qparam.scale * (q - qparam.zero_point)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class QConv2d(nn.Module):
    def __init__(self, conv, qi, bits=8):
        super().__init__()
        self.conv = conv
        self.qi = QParam(bits) if qi else None
        self.qw, self.qo = QParam(bits), QParam(bits)

    def forward(self, x):
        if self.qi is not None:
            self.qi.update(x)
            x = FakeQuantize.apply(x, self.qi)
        self.qw.update(self.conv.weight.data)
        c = self.conv
        x = F.conv2d(x, FakeQuantize.apply(c.weight, self.qw), c.bias, c.stride, c.padding, c.dilation, c.groups)
        self.qo.update(x)
        return FakeQuantize.apply(x, self.qo)


class QLinear(nn.Module):
    def __init__(self, fc, qi, bits=8):
        super().__init__()
        self.fc = fc
        self.qi = QParam(bits) if qi else None
        self.qw, self.qo = QParam(bits), QParam(bits)

    def forward(self, x):
        if self.qi is not None:
            self.qi.update(x)
            x = FakeQuantize.apply(x, self.qi)
        self.qw.update(self.fc.weight.data)
        x = F.linear(x, FakeQuantize.apply(self.fc.weight, self.qw), self.fc.bias)
        self.qo.update(x)
        return FakeQuantize.apply(x, self.qo)


class QConvBNReLU(nn.Module):
    """Conv + BatchNorm (+ ReLU) with the batch statistics folded into the conv weights while training."""

    def __init__(self, conv, bn, relu, qi, bits=8):
        super().__init__()
        self.conv, self.bn, self.relu = conv, bn, relu
        self.qi = QParam(bits) if qi else None
        self.qw, self.qo = QParam(bits), QParam(bits)

    def forward(self, x):
        if self.qi is not None:
            self.qi.update(x)
            x = FakeQuantize.apply(x, self.qi)
        c, bn = self.conv, self.bn
        if self.training:
            y = F.conv2d(x, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups)
            y = y.permute(1, 0, 2, 3).reshape(c.out_channels, -1)
            mean, var = y.mean(1).detach(), y.var(1).detach()
            bn.running_mean.mul_(1 - bn.momentum).add_(bn.momentum * mean)
            bn.running_var.mul_(1 - bn.momentum).add_(bn.momentum * var)
        else:
            mean, var = bn.running_mean, bn.running_var
        gamma = bn.weight / torch.sqrt(var + bn.eps)
        weight = c.weight * gamma.view(-1, 1, 1, 1)
        bias = (c.bias - mean) * gamma + bn.bias if c.bias is not None else bn.bias - mean * gamma
        self.qw.update(weight.data)
        x = F.conv2d(x, FakeQuantize.apply(weight, self.qw), bias, c.stride, c.padding, c.dilation, c.groups)
        if self.relu:
            x = F.relu(x)
        self.qo.update(x)
        return FakeQuantize.apply(x, self.qo)


def tutorial_qat(model, bits=8):
    """The tutorial's model.quantize(): conv [bn] [relu] -> QConvBNReLU / QConv2d, linear -> QLinear."""
    layers, out, i, first = list(model), [], 0, True
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, nn.Conv2d):
            if i + 1 < len(layers) and isinstance(layers[i + 1], nn.BatchNorm2d):
                relu = i + 2 < len(layers) and isinstance(layers[i + 2], nn.ReLU)
                out.append(QConvBNReLU(layer, layers[i + 1], relu, first, bits))
                i += 3 if relu else 2
            else:
                out.append(QConv2d(layer, first, bits))
                i += 1
            first = False
        elif isinstance(layer, nn.Linear):
            out.append(QLinear(layer, first, bits))
            first = False
            i += 1
        else:
            out.append(layer)
            i += 1
    return nn.Sequential(*out)


# ---- quantgrad's `lsq` method: LSQ / LSQ+ on _LearnableFakeQuantize -------------------------------------------

# What config/quant_recipe.cpp chooses when a config's quant section leaves it out (kDefaults).
QAT_DEFAULTS = {"tutorial": {"qat_lr": 0.01, "qat_momentum": 0.5}, "lsq": {"qat_lr": 0.01, "qat_momentum": 0.9}}


def qat_hyper_parameters(config, method):
    """(lr, momentum) of a QAT method's SGD: the config's quant section, else the method's default."""
    quant = config.get("quant", {})
    defaults = QAT_DEFAULTS[method]
    return quant.get("qat_lr", defaults["qat_lr"]), quant.get("qat_momentum", defaults["qat_momentum"])


class LsqFakeQuantize(_LearnableFakeQuantize):
    """PyTorch's learnable fake-quantizer with quantgrad's LSQ initialisation and gradient scale.

    Per tensor (channels == 1) or per output channel (weights, axis 0); the zero point is learned (LSQ+) or
    fixed at 0. The observer that _LearnableFakeQuantize carries for its "static estimate" mode is never
    used: enable_param_learning() turns that mode off, and the first forward() sets the step size (and zero
    point) as LSQ does."""

    def __init__(self, quant_min, quant_max, channels=1, learn_zero_point=False, is_weight=False):
        if channels > 1:
            observer, kwargs = MovingAveragePerChannelMinMaxObserver, {"ch_axis": 0, "dtype": torch.qint8,
                                                                      "qscheme": torch.per_channel_symmetric}
        else:
            observer, kwargs = MovingAverageMinMaxObserver, {
                "dtype": torch.qint8 if quant_min < 0 else torch.quint8,
                "qscheme": torch.per_tensor_affine if learn_zero_point else torch.per_tensor_symmetric}
        super().__init__(observer, quant_min, quant_max, channel_len=channels if channels > 1 else -1,
                         use_grad_scaling=True, **kwargs)
        self.enable_param_learning()
        self.zero_point.requires_grad = learn_zero_point
        self.channels, self.learn_zero_point, self.is_weight = channels, learn_zero_point, is_weight
        # Qp of LSQ's formulas, as quantgrad's LearnedPoint::positive_levels().
        self.positive_levels = quant_max if (quant_min < 0 and not learn_zero_point) else quant_max - quant_min
        self.initialized = False

    @torch.no_grad()
    def initialize(self, x):
        """s = 2 mean|x| / sqrt(Qp) (per channel for weights); z = -min(x) / s for a learned zero point."""
        s = 2.0 * x.abs().reshape(self.channels, -1).mean(1).double() / self.positive_levels ** 0.5
        s = torch.where(s > self.eps.item(), s, torch.ones_like(s))
        self.scale.copy_(s.float())
        if self.learn_zero_point:
            self.zero_point.copy_((-x.min() / self.scale[0]).clamp(self.quant_min, self.quant_max))
        self.initialized = True

    def grad_factor(self, x):
        """LSQ's g = 1 / sqrt(N Qp): N values per output channel (weights) or per sample (activations)."""
        n = x.numel() // self.channels if self.is_weight else x.numel() // max(x.shape[0], 1)
        return 1.0 / (max(n, 1) * self.positive_levels) ** 0.5

    def forward(self, X):
        # _LearnableFakeQuantize.forward with the parameters learned (static estimation off), except for
        # the gradient scale (its own is 1 / sqrt(numel(X) quant_max), over the whole batch) and the zero
        # point, which quantgrad keeps inside [qmin, qmax].
        if not self.initialized:
            self.initialize(X.detach())
        self.scale.data.clamp_(min=self.eps.item())
        if self.learn_zero_point:
            self.zero_point.data.clamp_(self.quant_min, self.quant_max)
        if self.fake_quant_enabled[0] == 1:
            if self.qscheme in (torch.per_channel_symmetric, torch.per_tensor_symmetric):
                self.zero_point.data.zero_()
            if self.qscheme in (torch.per_channel_symmetric, torch.per_channel_affine):
                X = torch._fake_quantize_learnable_per_channel_affine(
                    X, self.scale, self.zero_point, self.ch_axis, self.quant_min, self.quant_max,
                    self.grad_factor(X))
            else:
                X = torch._fake_quantize_learnable_per_tensor_affine(
                    X, self.scale, self.zero_point, self.quant_min, self.quant_max, self.grad_factor(X))
        return X


class LsqLayer(nn.Module):
    """A conv or linear layer under LSQ: [input quantizer] -> conv/linear with the fake-quantized weight (BN
    folded in with its running statistics when there is one) and the bias on the accumulator grid ->
    [ReLU] -> output quantizer; quantgrad's QConv2d / QConvBNReLU / QLinear with a LearnedPoint each."""

    def __init__(self, layer, bn, relu, bits, quantize_input, previous):
        super().__init__()
        self.layer, self.bn, self.relu = layer, bn, relu
        unsigned = (0, 2 ** bits - 1)
        self.input_quant = LsqFakeQuantize(*unsigned, learn_zero_point=True) if quantize_input else None
        out_channels = layer.weight.shape[0]
        self.weight_quant = LsqFakeQuantize(-2 ** (bits - 1), 2 ** (bits - 1) - 1, channels=out_channels,
                                            is_weight=True)
        self.output_quant = LsqFakeQuantize(*unsigned, learn_zero_point=not relu)
        self.previous = [previous]  # the layer whose output this one reads (a list: not a submodule)

    def forward(self, x):
        if self.input_quant is not None:
            x = self.input_quant(x)
        weight, bias = self.layer.weight, self.layer.bias
        if self.bn is not None:  # frozen: folded with the running statistics, which stay as they are
            bn = self.bn
            gamma = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            weight = weight * gamma.view(-1, *([1] * (weight.dim() - 1)))
            centred = bias - bn.running_mean if bias is not None else -bn.running_mean
            bias = centred * gamma + bn.bias
        weight = self.weight_quant(weight)
        if bias is not None:  # b -> S_in S_w[c] round(b / (S_in S_w[c])), straight-through
            source = self.input_quant if self.input_quant is not None else self.previous[0].output_quant
            step = (source.scale * self.weight_quant.scale).detach()
            bias = bias + (torch.round(bias / step) * step - bias).detach()
        if isinstance(self.layer, nn.Conv2d):
            c = self.layer
            y = F.conv2d(x, weight, bias, c.stride, c.padding, c.dilation, c.groups)
        else:
            y = F.linear(x, weight, bias)
        if self.relu:
            y = F.relu(y)
        return self.output_quant(y)


def lsq_qat(model, bits):
    """quantgrad's prepare_qat for the lsq method: conv [bn] [relu] and linear [relu] -> LsqLayer (the ReLU
    fused), max pool and flatten unchanged."""
    layers, out, i, previous = list(model), [], 0, None
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            bn = None
            if isinstance(layer, nn.Conv2d) and i + 1 < len(layers) and isinstance(layers[i + 1], nn.BatchNorm2d):
                bn = layers[i + 1]
            j = i + (2 if bn is not None else 1)
            relu = j < len(layers) and isinstance(layers[j], nn.ReLU)
            previous = LsqLayer(layer, bn, relu, bits, previous is None, previous)
            out.append(previous)
            i = j + (1 if relu else 0)
        elif isinstance(layer, (nn.MaxPool2d, nn.Flatten)):
            out.append(layer)
            i += 1
        else:
            raise ValueError("torch_bench: lsq: layer %r is not supported" % layer)
    return nn.Sequential(*out)


# ---- torch.ao.quantization (eager mode) --------------------------------------------------------------------

class Quantizable(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.body = body
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


def fusion_groups(model):
    """Names to fuse: conv+bn+relu, conv+bn, conv+relu, linear+relu."""
    layers, groups, i = list(model), [], 0
    while i < len(layers):
        if isinstance(layers[i], nn.Linear):
            if i + 1 < len(layers) and isinstance(layers[i + 1], nn.ReLU):
                groups.append(["body.%d" % i, "body.%d" % (i + 1)])
                i += 2
            else:
                i += 1
        elif isinstance(layers[i], nn.Conv2d):
            group = [str(i)]
            if i + 1 < len(layers) and isinstance(layers[i + 1], nn.BatchNorm2d):
                group.append(str(i + 1))
            if i + len(group) < len(layers) and isinstance(layers[i + len(group)], nn.ReLU):
                group.append(str(i + len(group)))
            if len(group) > 1:
                groups.append(["body." + name for name in group])
            i += len(group)
        else:
            i += 1
    return groups


def int8_model(config, data, engine, qat_steps):
    torch.backends.quantized.engine = engine
    torch.manual_seed(config["train"]["seed"])
    model = Quantizable(build_model(config))
    model.train()
    model = torch.ao.quantization.fuse_modules_qat(model, fusion_groups(model.body))
    model.qconfig = torch.ao.quantization.get_default_qat_qconfig(engine)
    torch.ao.quantization.prepare_qat(model, inplace=True)
    lr, momentum = qat_hyper_parameters(config, "tutorial")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    batches = data.batches(64, 1)
    for _ in range(qat_steps):
        x, y = next(batches)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    return torch.ao.quantization.convert(model)


# ---- jobs ----------------------------------------------------------------------------------------------------

def timed_training(model, batches, lr, momentum, warmup, steps, who):
    """Images per second of `steps` SGD steps (cross-entropy; batches from the iterator `batches`) after
    `warmup` untimed ones: the training loop of both scripts' timing jobs. Raises on a non-finite loss."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    images, start = 0, None
    for step in range(warmup + steps):
        if step == warmup:
            start = time.perf_counter()
        x, y = next(batches)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        if not torch.isfinite(loss).item():
            raise RuntimeError("%s: training diverged at step %d" % (who, step + 1))
        loss.backward()
        optimizer.step()
        if step >= warmup:
            images += x.shape[0]
    return images / (time.perf_counter() - start)


def job_train(args, config, data):
    torch.manual_seed(config["train"]["seed"])
    model = build_model(config)
    _, training_macs = step_cost(model)
    if args.qat and args.lsq:
        model = lsq_qat(model, args.bits)
        lr, momentum = qat_hyper_parameters(config, "lsq")
    elif args.qat:
        model = tutorial_qat(model, args.bits)
        lr, momentum = qat_hyper_parameters(config, "tutorial")
    else:
        lr, momentum = config["train"]["lr"], config["train"]["momentum"]
    ips = timed_training(model, data.batches(args.batch, 1), lr, momentum, args.warmup, args.steps, "torch_bench")
    return {"images_per_second": ips, "gflops": ips * 2 * training_macs * 1e-9,
            "mflop_per_image": 2 * training_macs * 1e-6, "peak_rss_mb": peak_rss_mb()}


def job_infer(args, config, data):
    torch.manual_seed(config["train"]["seed"])
    model = build_model(config).eval()
    batches = [data.batch(torch.arange(first, first + args.batch))[0]
               for first in range(0, min(16 * args.batch, 60000 - args.batch + 1), args.batch)]
    with torch.inference_mode():
        for x in batches:
            model(x)
        done, start = 0, time.perf_counter()
        while done < args.images:
            for x in batches:
                model(x)
                done += x.shape[0]
        ips = done / (time.perf_counter() - start)
    return {"images_per_second": ips, "peak_rss_mb": peak_rss_mb()}


def time_int8(model, data, args):
    n_batches = min(64, 60000 // args.batch)
    batches = [data.batch(torch.arange(i * args.batch, (i + 1) * args.batch))[0] for i in range(n_batches)]
    singles = [data.batch(torch.arange(i, i + 1))[0] for i in range(args.latency_images + 50)]
    checksum = 0
    with torch.inference_mode():
        for x in batches[:4]:
            model(x)
        done, start, i = 0, time.perf_counter(), 0
        while done < args.images:
            checksum += int(model(batches[i]).argmax(1)[0])
            done += args.batch
            i = (i + 1) % n_batches
        ips = done / (time.perf_counter() - start)
        latencies = []
        for i, x in enumerate(singles):
            t0 = time.perf_counter()
            checksum += int(model(x).argmax(1)[0])
            if i >= 50:
                latencies.append((time.perf_counter() - t0) * 1e3)
    latencies.sort()
    quantile = lambda q: latencies[int(q * (len(latencies) - 1))]
    return {"images_per_second": ips, "latency_median_ms": quantile(0.5), "latency_p99_ms": quantile(0.99),
            "checksum": checksum}


def job_int8(args, config, data):
    wanted = ["onednn", "x86", "fbgemm", "qnnpack"]
    engines = [e for e in wanted if e in torch.backends.quantized.supported_engines]
    if args.engine:
        engines = [args.engine]
    results = {}
    for engine in engines:
        try:
            model = int8_model(config, data, engine, 30)  # enough QAT steps for sensible ranges
            results[engine] = time_int8(model, data, args)
        except Exception as error:  # an engine that cannot run this model (e.g. grouped convs)
            results[engine] = {"error": str(error).splitlines()[0][:200]}
    timed = {e: r for e, r in results.items() if "images_per_second" in r}
    if not timed and args.allow_unavailable:  # reported as "not available", not as a failed run
        return {"unavailable": "; ".join("%s: %s" % (e, r["error"]) for e, r in results.items()),
                "engines": results, "peak_rss_mb": peak_rss_mb()}
    if not timed:
        raise RuntimeError("torch_bench: no quantized engine could run the model: %s" % results)
    best = max(timed, key=lambda e: timed[e]["images_per_second"])
    fastest_latency = min(timed, key=lambda e: timed[e]["latency_median_ms"])
    return {"engine": best, "images_per_second": timed[best]["images_per_second"],
            "latency_engine": fastest_latency,
            "latency_median_ms": timed[fastest_latency]["latency_median_ms"],
            "latency_p99_ms": timed[fastest_latency]["latency_p99_ms"],
            "engines": results, "peak_rss_mb": peak_rss_mb()}


def main():
    parser = argparse.ArgumentParser(description="PyTorch side of bench/run")
    parser.add_argument("job", choices=["train", "infer", "int8"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--qat", action="store_true", help="train: QAT (the tutorial's method unless --lsq)")
    parser.add_argument("--lsq", action="store_true", help="train --qat: quantgrad's lsq method (LSQ / LSQ+)")
    parser.add_argument("--bits", type=int, default=8, help="train --qat: bit width (default 8)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--latency-images", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=1)
    parser.add_argument("--engine", default=None, help="int8: time only this quantized engine")
    parser.add_argument("--allow-unavailable", action="store_true",
                        help="int8: when no engine can run the model, print {\"unavailable\": reasons} and exit 0")
    parser.add_argument("--data", default="data/mnist")
    args = parser.parse_args()
    if args.lsq and not args.qat:
        parser.error("--lsq needs --qat")
    if not 1 <= args.bits <= 8 or (args.lsq and args.bits < 2):
        parser.error("--bits must be in [1, 8] (and at least 2 with --lsq: signed 1-bit weights are binary)")
    torch.set_num_threads(args.threads)
    config = load_config(args.config, args.width)
    data = Mnist(args.data)
    job = {"train": job_train, "infer": job_infer, "int8": job_int8}[args.job]
    result = job(args, config, data)
    result.update({"job": args.job, "torch": torch.__version__, "threads": torch.get_num_threads()})
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
