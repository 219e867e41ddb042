#include "runtime/ops/input_quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace qg::runtime {

void InputQuantize::validate() const {
  const int64_t size = checked_numel(shape, "input shape");
  if (shape.empty() || size == 0) {
    throw std::invalid_argument("input shape " + dims_to_string(shape) + " must be non-empty");
  }
  quant.validate_activation("input quantization");
  if (mean.size() != stddev.size() || (mean.size() != 1 && static_cast<int64_t>(mean.size()) != shape[0])) {
    throw std::invalid_argument("input normalisation needs 1 or " + std::to_string(shape[0]) +
                                " (channels) mean and std values, found " + std::to_string(mean.size()) +
                                " and " + std::to_string(stddev.size()));
  }
  for (size_t c = 0; c < mean.size(); ++c) {
    if (!std::isfinite(mean[c]) || !std::isfinite(stddev[c]) || stddev[c] <= 0.0) {
      throw std::invalid_argument("input normalisation channel " + std::to_string(c) +
                                  ": mean must be finite and std finite and positive");
    }
  }
}

int64_t InputQuantize::channel_of(int64_t i) const {
  if (mean.size() == 1) return 0;
  return i / (checked_numel(shape, "input shape") / shape[0]);
}

// Both steps are computed in float32, operation for operation as the training side computes them (the
// DataLoader's normalisation table and FakeQuantize's round(x / S + Z)), so the integer model starts from
// exactly the input codes the fake-quant model saw. In double, a pixel value whose x / S + Z lies within
// float rounding of a tie would quantize differently for every image containing it; at 3 bits that cost
// 4 % class agreement with the fake-quant model on MNIST.
int32_t InputQuantize::quantize(float x) const {
  const float q = std::nearbyint(x / static_cast<float>(quant.scale) + static_cast<float>(quant.zero_point));
  return static_cast<int32_t>(
      std::clamp(q, static_cast<float>(quant.qmin()), static_cast<float>(quant.qmax())));
}

float InputQuantize::normalize(uint8_t pixel, int64_t channel) const {
  const auto c = static_cast<size_t>(channel);
  return (static_cast<float>(pixel) / 255.0f - static_cast<float>(mean[c])) / static_cast<float>(stddev[c]);
}

namespace {

/// The output tensor for `count` input values, or a clear error when they are not whole samples.
IntTensor batch_for(const InputQuantize& op, size_t count) {
  op.validate();
  const int64_t sample = checked_numel(op.shape, "input shape");
  if (static_cast<int64_t>(count) % sample != 0) {
    throw std::invalid_argument("input: " + std::to_string(count) +
                                " values are not a whole number of samples of " + dims_to_string(op.shape) +
                                " (" + std::to_string(sample) + " values each)");
  }
  IntTensor batch;
  batch.shape = op.shape;
  batch.shape.insert(batch.shape.begin(), static_cast<int64_t>(count) / sample);
  batch.data.resize(count);
  return batch;
}

}  // namespace

IntTensor input_quantize_pixels_reference(const InputQuantize& op, std::span<const uint8_t> pixels) {
  IntTensor batch = batch_for(op, pixels.size());
  const int64_t sample = batch.sample_size();
  for (size_t i = 0; i < pixels.size(); ++i) {
    const int64_t channel = op.channel_of(static_cast<int64_t>(i) % sample);
    batch.data[i] = op.quantize(op.normalize(pixels[i], channel));
  }
  return batch;
}

IntTensor input_quantize_pixels_fast(const InputQuantize& op, std::span<const uint8_t> pixels) {
  IntTensor batch = batch_for(op, pixels.size());
  const int64_t channels = static_cast<int64_t>(op.mean.size());
  std::vector<int32_t> table(static_cast<size_t>(channels) * 256);
  for (int64_t c = 0; c < channels; ++c) {
    for (int p = 0; p < 256; ++p) {
      table[static_cast<size_t>(c * 256 + p)] = op.quantize(op.normalize(static_cast<uint8_t>(p), c));
    }
  }
  const int64_t sample = batch.sample_size();
  const int64_t plane = channels == 1 ? sample : sample / channels;  // elements per channel
  for (size_t i = 0; i < pixels.size(); ++i) {
    const int64_t channel = channels == 1 ? 0 : (static_cast<int64_t>(i) % sample) / plane;
    batch.data[i] = table[static_cast<size_t>(channel * 256 + pixels[i])];
  }
  return batch;
}

IntTensor input_quantize_normalized(const InputQuantize& op, std::span<const float> values) {
  IntTensor batch = batch_for(op, values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw std::invalid_argument("input: value " + std::to_string(i) + " is not finite");
    }
    batch.data[i] = op.quantize(values[i]);
  }
  return batch;
}

}  // namespace qg::runtime
