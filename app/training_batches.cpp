#include "app/training_batches.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "app/data_parallel.h"
#include "app/distributed.h"
#include "config/layer_kind.h"
#include "core/kernels/batch_norm.h"

namespace qg::app {

namespace {

// The values per channel a batch of `batch` images gives the BatchNorm2d layer `layer` (input [C, H, W]).
kernel::ChannelLayout layout_of(const config::LayerSpec& layer, int64_t batch) {
  int64_t spatial = 1;
  for (size_t d = 1; d < layer.input_shape.size(); ++d)
    spatial *= layer.input_shape[d];
  return {batch, layer.input_shape.empty() ? 0 : layer.input_shape[0], spatial};
}

std::string layer_text(const config::ModelConfig& config, size_t i) {
  return "/layers/" + std::to_string(i) + " (" + config.layers[i].kind->name + ", input " +
         to_string(config.layers[i].input_shape) + ")";
}

std::string images(int64_t n) {
  return std::to_string(n) + (n == 1 ? " image" : " images");
}

}  // namespace

std::optional<size_t> batch_norm_starved_by(const config::ModelConfig& config, int64_t batch) {
  for (size_t i = 0; i < config.layers.size(); ++i) {
    const config::LayerSpec& layer = config.layers[i];
    if (layer.kind->batch_statistics && !layout_of(layer, batch).has_batch_statistics()) return i;
  }
  return std::nullopt;
}

bool drop_last_batch(const config::ModelConfig& config, int64_t train_images) {
  const int64_t batch = config.train.batch_size;
  // Only a partial batch after full ones: dropping the one batch of a small training set would leave none.
  const int64_t last = batch > 0 && train_images > batch ? train_images % batch : 0;
  return last > 0 && batch_norm_starved_by(config, last).has_value();
}

void check_training_batches(const config::ModelConfig& config, int64_t train_images) {
  const int64_t batch = config.train.batch_size;
  const int64_t largest = std::min(batch, train_images);  // the largest batch an epoch has
  if (const std::optional<size_t> i = batch_norm_starved_by(config, largest)) {
    const std::string fix = largest < batch
                                ? "it needs at least 2 training images"
                                : "use a batch size of at least 2 (train.batch_size, or --batch-size)";
    throw std::runtime_error(config.source + ": " + layer_text(config, *i) + ": a training batch of " +
                             images(largest) +
                             " gives it one value per channel, so its batch variance is 0 " +
                             "and it cannot normalise (PyTorch refuses this too); " + fix);
  }
  // A data-parallel run cuts every batch into one shard per process: each must hold a usable batch too.
  check_shards(config, train_images, drop_last_batch(config, train_images), distributed::world());
  if (drop_last_batch(config, train_images)) {
    const int64_t last = train_images % batch;
    const std::optional<size_t> i = batch_norm_starved_by(config, last);
    std::printf(
        "Note: dropping the last batch of every epoch (drop_last): %s in batches of %lld leave %s, "
        "which would give %s one value per channel (a batch variance of 0)\n",
        images(train_images).c_str(), static_cast<long long>(batch), images(last).c_str(),
        layer_text(config, *i).c_str());
    std::fflush(stdout);
  }
}

}  // namespace qg::app
