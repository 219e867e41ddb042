// Float models for the ONNX float export and import tests: small configs that between them hold every layer
// kind (docs/config.md 2.1), the shipped configs, random weights (BatchNorm statistics too) and a forward pass.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "config/builder.h"
#include "config/layer_kind.h"
#include "config/loader.h"
#include "core/random.h"
#include "nn/layers/graph.h"

namespace qg::onnx_io::testing {

// A chain: conv2d (strided, padded), batchnorm2d, relu6, avgpool2d (padded), dropout, flatten, linear.
inline const char* kChainKinds = R"({
  "name": "chain_kinds", "input": {"shape": [1, 28, 28]},
  "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "batchnorm2d", "eps": 0.001},
    {"type": "relu6"},
    {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "dropout", "p": 0.3},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10}
  ]})";

// A graph: a dilated conv, relu, padded max pool; a grouped conv beside it; add; concat; global average pool;
// a linear without bias; a dropout at the very end.
inline const char* kGraphKinds = R"({
  "name": "graph_kinds", "input": {"shape": [1, 28, 28]},
  "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 2, "dilation": 2},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "name": "a"},
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "groups": 2, "bias": false, "name": "b"},
    {"type": "add", "inputs": ["a", "b"], "name": "s"},
    {"type": "concat", "inputs": ["s", "a", "b"]},
    {"type": "global_avgpool"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10, "bias": false},
    {"type": "dropout"}
  ]})";

/// The configs every float test runs: the two above and the four shipped ones.
inline std::vector<config::ModelConfig> float_test_configs() {
  const std::string dir = std::string(QG_SOURCE_DIR) + "/configs/";
  return {config::parse_config_text(kChainKinds, "chain_kinds"),
          config::parse_config_text(kGraphKinds, "graph_kinds"),
          config::load_config(dir + "mnist_cnn.json"),
          config::load_config(dir + "mnist_cnn_bn.json"),
          config::load_config(dir + "fashion_resnet.json"),
          config::load_config(dir + "mnist_dwsep_bn.json")};
}

/// config's float model with PyTorch's initialisation from `seed`, and BatchNorm affine parameters and running
/// statistics drawn away from their defaults (so that a wrong mapping of them shows).
inline std::shared_ptr<nn::Graph> random_model(const config::ModelConfig& config, uint64_t seed) {
  Generator gen(seed);
  std::shared_ptr<nn::Graph> model = config::build_model(config, gen);
  for (auto& [name, t] : model->state()) {
    auto draw = [&](float lo, float hi) { t.copy_from(Tensor::uniform(t.shape(), lo, hi, gen)); };
    const bool batch_norm = config.layers[std::stoul(name)].kind->name == "batchnorm2d";
    if (!batch_norm) continue;
    if (name.ends_with("running_mean") || name.ends_with(".bias")) draw(-0.5f, 0.5f);
    if (name.ends_with("running_var") || name.ends_with(".weight")) draw(0.5f, 2.0f);
  }
  model->eval();
  return model;
}

/// `n` inputs of the config's shape, normal(0, 1).
inline Tensor random_input(const config::ModelConfig& config, int64_t n, uint64_t seed) {
  Generator gen(seed);
  Shape shape{n};
  shape.insert(shape.end(), config.input_shape.begin(), config.input_shape.end());
  return Tensor::randn(shape, gen);
}

inline std::vector<float> forward(nn::Graph& model, const Tensor& input) {
  NoGradGuard no_grad;
  model.eval();
  return model.forward(input).contiguous().to_vector();
}

inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

}  // namespace qg::onnx_io::testing
