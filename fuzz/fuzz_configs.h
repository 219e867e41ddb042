// The small model configs of the checkpoint target: checkpoints are loaded into their float and QAT models,
// and make_seeds.cpp saves the seed checkpoints from them. One uses per-tensor min/max observers, one
// percentile observers (a histogram's bins in its state) and per-channel weights, one learned step sizes
// (lsq), so that every quantizer state reader is reached.
#pragma once

namespace qg::fuzz {

inline constexpr const char* kMinMaxConfig = R"({
  "name": "fuzz_minmax",
  "input": {"shape": [1, 28, 28]},
  "layers": [
    {"type": "conv2d", "out_channels": 2, "kernel_size": 4, "stride": 4},
    {"type": "batchnorm2d"},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 7},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10}
  ],
  "train": {"epochs": 1, "batch_size": 4, "seed": 5},
  "quant": {"method": "tutorial", "bits": 4, "observer": "minmax"}
})";

inline constexpr const char* kPercentileConfig = R"({
  "name": "fuzz_percentile",
  "input": {"shape": [1, 28, 28]},
  "layers": [
    {"type": "conv2d", "out_channels": 2, "kernel_size": 4, "stride": 4},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 7},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10}
  ],
  "train": {"epochs": 1, "batch_size": 4, "seed": 6},
  "quant": {"method": "tutorial", "bits": 8, "observer": "percentile", "percentile": 90, "per_channel": true}
})";

// Learned step sizes and zero points (LSQ, LSQ+) in the QAT state, and a BatchNorm after a ReLU, which the
// integer model holds as a mul_add op.
inline constexpr const char* kLsqConfig = R"({
  "name": "fuzz_lsq",
  "input": {"shape": [1, 28, 28]},
  "layers": [
    {"type": "conv2d", "out_channels": 2, "kernel_size": 4, "stride": 4},
    {"type": "relu"},
    {"type": "batchnorm2d"},
    {"type": "maxpool2d", "kernel_size": 7},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10}
  ],
  "train": {"epochs": 1, "batch_size": 4, "seed": 7},
  "quant": {"method": "lsq", "bits": 4}
})";

}  // namespace qg::fuzz
