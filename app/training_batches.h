// Training batches that BatchNorm can normalise (issue 10, item 2).
//
// A BatchNorm2d layer in training mode normalises each channel with the mean and variance of the batch:
// over batch x H x W values. When that is a single value (a 1x1 feature map and a batch of one image), the
// variance is 0, every normalised value is 0 and the running variance learns nothing; under QAT the BN
// folding divides by sqrt(0 + eps), which blows the folded weights up. PyTorch refuses such a batch. The
// one place it happens in an ordinary run is the last, partial batch of an epoch (257 images in batches of
// 64 leave one): `train` and `train_qat` both ask this file, before any training, and drop that batch
// (their DataLoaders' drop_last), saying so. A batch size that is itself too small is refused.
#pragma once

#include <cstdint>
#include <optional>

#include "config/model_config.h"

namespace qg::app {

/// The first BatchNorm2d layer of `config` (its index in config.layers) to which a training batch of
/// `batch` images gives fewer than two values per channel (kernel::ChannelLayout::has_batch_statistics).
std::optional<size_t> batch_norm_starved_by(const config::ModelConfig& config, int64_t batch);

/// Whether the training DataLoader of `config` over `train_images` images drops its last, partial batch:
/// exactly when that batch would starve a BatchNorm2d layer. Deterministic, so a resumed run counts the
/// same batches per epoch.
bool drop_last_batch(const config::ModelConfig& config, int64_t train_images);

/// Checks, before any training, that every training batch can be normalised. Throws std::runtime_error
/// naming the config, the layer (as its JSON path), the batch and the fix when even a full batch of
/// config.train.batch_size images starves a BatchNorm2d layer; prints a note on stdout when the last
/// batch of each epoch will be dropped. In a data-parallel run, also checks the shards (check_shards).
void check_training_batches(const config::ModelConfig& config, int64_t train_images);

}  // namespace qg::app
