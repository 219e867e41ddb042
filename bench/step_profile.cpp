#include "bench/step_profile.h"

#include <time.h>

#include <cassert>
#include <chrono>
#include <map>
#include <string>

#include "autograd/ops.h"
#include "core/parallel.h"
#include "datasets/data_loader.h"
#include "nn/functional/loss.h"
#include "nn/optim/sgd.h"

namespace qg::bench {

namespace {

// With one thread the profile reads the thread's CPU clock: time the thread spent running, unaffected by
// other processes taking the core. With several threads (the pool's workers do part of each op) it reads
// the wall clock.
bool g_cpu_clock = false;

struct Clock {
  using time_point = double;
  static double now() {
    timespec ts{};
    clock_gettime(g_cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
};

double seconds_since(double start) {
  return Clock::now() - start;
}

// A leaf holding `t`'s values, to cut the graph at a layer boundary.
Tensor cut(const Tensor& t) {
  Tensor leaf = t.detach();
  leaf.set_requires_grad(true);
  return leaf;
}

}  // namespace

nlohmann::json profile_training_step(const std::vector<std::shared_ptr<nn::Module>>& layers,
                                     const std::vector<std::vector<int64_t>>& inputs, nn::Module& model,
                                     const data::MnistDataset& train_set, int64_t batch, int64_t steps) {
  assert(inputs.size() == layers.size());
  g_cpu_clock = parallel::num_threads() == 1;
  nn::Sgd optimizer(model.parameters(), {0.01, 0.5, 0.0, false});
  const data::DataLoader loader(
      train_set, {.batch_size = batch, .shuffle = true, .seed = 1, .drop_last = true, .prefetch = true});
  model.train();
  const size_t n = layers.size();
  std::vector<double> forward(n, 0.0), backward(n, 0.0);
  double loss_time = 0.0, step_time = 0.0, data_time = 0.0, total = 0.0;
  const int64_t warmup = 10;
  int64_t done = 0;
  auto epoch = loader.epoch(0);
  while (done < warmup + steps) {
    const bool timed = done >= warmup;
    const Clock::time_point step_start = Clock::now();
    std::optional<data::Batch> b = epoch.next();
    if (!b) throw std::runtime_error("profile: ran out of batches (use fewer steps)");
    if (timed) data_time += seconds_since(step_start);
    optimizer.zero_grad();
    std::vector<std::vector<Tensor>> leaves(n);  // layer i's inputs, cut
    std::vector<Tensor> outputs(n);
    for (size_t i = 0; i < n; ++i) {
      for (const int64_t j : inputs[i])
        leaves[i].push_back(j < 0 ? b->images : cut(outputs[static_cast<size_t>(j)]));
      const Clock::time_point t0 = Clock::now();
      outputs[i] = layers[i]->forward_inputs(leaves[i]);
      if (timed) forward[i] += seconds_since(t0);
    }
    Clock::time_point t0 = Clock::now();
    const Tensor logits = cut(outputs.back());
    const Tensor loss = nn::functional::cross_entropy(logits, b->labels);
    loss.item();
    loss.backward();
    if (timed) loss_time += seconds_since(t0);
    std::vector<Tensor> grads(n);  // g_i: the gradient of layer i's output, summed over its readers
    grads.back() = logits.grad();
    for (size_t i = n; i-- > 0;) {
      t0 = Clock::now();
      if (grads[i].defined() && outputs[i].requires_grad()) outputs[i].backward(grads[i]);
      for (size_t k = 0; k < inputs[i].size(); ++k) {
        const int64_t j = inputs[i][k];
        if (j < 0 || !leaves[i][k].grad().defined()) continue;
        Tensor& g = grads[static_cast<size_t>(j)];
        g = g.defined() ? g + leaves[i][k].grad() : leaves[i][k].grad();
      }
      if (timed) backward[i] += seconds_since(t0);
    }
    t0 = Clock::now();
    optimizer.step();
    if (timed) {
      step_time += seconds_since(t0);
      total += seconds_since(step_start);
    }
    ++done;
  }
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) {
    rows.push_back({{"layer", std::to_string(i) + " " + layers[i]->describe()},
                    {"forward_ms", forward[i] / steps * 1e3},
                    {"backward_ms", backward[i] / steps * 1e3}});
  }
  rows.push_back({{"layer", "cross_entropy"}, {"forward_ms", loss_time / steps * 1e3}, {"backward_ms", 0.0}});
  rows.push_back({{"layer", "sgd step"}, {"forward_ms", step_time / steps * 1e3}, {"backward_ms", 0.0}});
  rows.push_back(
      {{"layer", "data (wait for batch)"}, {"forward_ms", data_time / steps * 1e3}, {"backward_ms", 0.0}});
  return {{"rows", rows},
          {"step_ms", total / steps * 1e3},
          {"batch", batch},
          {"clock", g_cpu_clock ? "thread CPU time" : "wall"}};
}

}  // namespace qg::bench
