#include "datasets/synthetic_digits.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/random.h"

namespace qg::data {

namespace {

constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;
constexpr uint64_t kPrototypeSeed = 12345;  // the same ten prototypes for every set

/// Ten binary images, class after class: 1 with probability 0.2.
std::vector<float> prototypes() {
  Generator gen(kPrototypeSeed);
  std::vector<float> images(MnistDataset::kNumClasses * kPixels);
  for (float& p : images)
    p = gen.uniform(0.0f, 1.0f) < 0.2f ? 1.0f : 0.0f;
  return images;
}

}  // namespace

MnistDataset synthetic_digits(int64_t n, uint64_t seed) {
  if (n < 0) throw std::invalid_argument("synthetic_digits: n must be >= 0, got " + std::to_string(n));
  const std::vector<float> prototype = prototypes();
  Generator gen(seed);
  std::vector<uint8_t> pixels, labels;
  pixels.reserve(static_cast<size_t>(n * kPixels));
  labels.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto label = static_cast<uint8_t>(gen.below(MnistDataset::kNumClasses));
    labels.push_back(label);
    for (int64_t p = 0; p < kPixels; ++p) {
      // Label first, then the pixels in order: the draws' order is part of what a seed gives.
      const float v = 0.8f * prototype[label * kPixels + p] + gen.uniform(0.0f, 0.35f);
      pixels.push_back(static_cast<uint8_t>(std::min(255.0f, v * 255.0f)));
    }
  }
  return MnistDataset(std::move(pixels), std::move(labels), kSide, kSide,
                      default_normalization(DatasetKind::kMnist));
}

}  // namespace qg::data
