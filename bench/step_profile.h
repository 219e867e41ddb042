// Where the time of a training step goes, layer by layer, forward and backward (bench/run's profile table).
//
// The step is cut at every layer boundary: layer i's input is a fresh leaf (the previous output, detached,
// requiring grad), so each layer's forward and each layer's backward can be timed on its own:
//   forward:  y_i = layer_i(x_i)                     timed per layer
//   loss:     L = cross_entropy(leaf(y_last))        timed, with its backward
//   backward: y_i.backward(x_{i+1}.grad), last first  timed per layer
//   step:     optimizer.step()                        timed
// Cutting costs one extra gradient hand-over per layer, so the sum is slightly above a normal step; the
// report gives both.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/mnist.h"
#include "nn/module.h"

namespace qg::bench {

/// Profiles `steps` SGD steps (after 10 untimed ones) of `model`, whose forward is `layers` in order.
nlohmann::json profile_training_step(const std::vector<std::shared_ptr<nn::Module>>& layers,
                                     nn::Module& model, const data::MnistDataset& train_set, int64_t batch,
                                     int64_t steps);

}  // namespace qg::bench
