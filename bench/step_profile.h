// Where the time of a training step goes, layer by layer, forward and backward (bench/run's profile table).
//
// The step is cut at every layer boundary: each input of layer i is a fresh leaf (the output it reads,
// detached, requiring grad), so each layer's forward and each layer's backward can be timed on its own:
//   forward:  y_i = layer_i(leaves of the outputs it reads)    timed per layer
//   loss:     L = cross_entropy(leaf(y_last))                  timed, with its backward
//   backward: y_i.backward(g_i), last first                    timed per layer
//   step:     optimizer.step()                                 timed
// where g_i sums the gradients of the leaves made of y_i (a graph's layer may be read by several, as the
// input of a residual block is; in a chain g_i is the next layer's leaf gradient). The sum, timed with
// y_i's backward, is what autograd does at a fan-out. Cutting costs one extra gradient hand-over per
// layer, so the sum is slightly above a normal step; the report gives both.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/mnist.h"
#include "nn/module.h"

namespace qg::bench {

/// Profiles `steps` SGD steps (after 10 untimed ones) of `model`, whose forward runs `layers` in order,
/// layer i reading the outputs `inputs[i]` names (nn::Graph's numbering: j >= 0 layer j, -1 the images).
nlohmann::json profile_training_step(const std::vector<std::shared_ptr<nn::Module>>& layers,
                                     const std::vector<std::vector<int64_t>>& inputs, nn::Module& model,
                                     const data::MnistDataset& train_set, int64_t batch, int64_t steps);

}  // namespace qg::bench
