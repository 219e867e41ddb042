#include "datasets/synthetic_digits.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "datasets/mnist.h"

namespace qg::data {
namespace {

std::vector<uint8_t> all_pixels(const MnistDataset& set) {
  std::vector<uint8_t> pixels;
  for (int64_t i = 0; i < set.size(); ++i)
    pixels.insert(pixels.end(), set.image(i), set.image(i) + set.pixels_per_image());
  return pixels;
}

std::vector<int64_t> all_labels(const MnistDataset& set) {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < set.size(); ++i)
    labels.push_back(set.label(i));
  return labels;
}

// FNV-1a over the pixels, then the labels.
uint64_t fingerprint(const MnistDataset& set) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t p : all_pixels(set))
    h = (h ^ p) * 1099511628211ull;
  for (int64_t l : all_labels(set))
    h = (h ^ static_cast<uint64_t>(l)) * 1099511628211ull;
  return h;
}

TEST(SyntheticDigits, MakesNDigitsOf28x28WithMnistNormalization) {
  const MnistDataset set = synthetic_digits(300, 12);
  EXPECT_EQ(set.size(), 300);
  EXPECT_EQ(set.rows(), 28);
  EXPECT_EQ(set.cols(), 28);
  EXPECT_EQ(set.normalization().mean, default_normalization(DatasetKind::kMnist).mean);
  EXPECT_EQ(set.normalization().std, default_normalization(DatasetKind::kMnist).std);
  std::vector<int64_t> per_class(MnistDataset::kNumClasses, 0);
  for (int64_t label : all_labels(set))
    ++per_class.at(static_cast<size_t>(label));
  for (int64_t count : per_class)
    EXPECT_GT(count, 10);  // about 30 of each
}

TEST(SyntheticDigits, PixelsAreInkOrBackgroundAsDocumented) {
  // 0.8 * prototype + U[0, 0.35), times 255: background 0..89, ink 204..255; nothing in between.
  const MnistDataset set = synthetic_digits(64, 3);
  int64_t ink = 0;
  for (uint8_t p : all_pixels(set)) {
    EXPECT_TRUE(p <= 89 || p >= 204) << int(p);
    ink += p >= 204;
  }
  const double share = static_cast<double>(ink) / (64.0 * 784.0);
  EXPECT_GT(share, 0.17);  // each prototype pixel is ink with probability 0.2
  EXPECT_LT(share, 0.23);
}

TEST(SyntheticDigits, SameSeedSameSetAndAPrefixIsTheSmallerSet) {
  EXPECT_EQ(all_pixels(synthetic_digits(50, 7)), all_pixels(synthetic_digits(50, 7)));
  EXPECT_NE(all_pixels(synthetic_digits(50, 7)), all_pixels(synthetic_digits(50, 8)));
  const MnistDataset big = synthetic_digits(50, 7), small = synthetic_digits(20, 7);
  EXPECT_EQ(all_pixels(big.head(20)), all_pixels(small));
  EXPECT_EQ(all_labels(big.head(20)), all_labels(small));
}

TEST(SyntheticDigits, BytesAreThoseTheTestsWereWrittenFor) {
  // Fingerprints of the generator the tests and examples used before it moved here (each a copy of the same
  // code); the quantization tests' expectations depend on these exact pixels.
  EXPECT_EQ(fingerprint(synthetic_digits(1, 1)), 0xd16785e9c8919da4ull);
  EXPECT_EQ(fingerprint(synthetic_digits(200, 2)), 0x206abe3d04d6b7d4ull);
  EXPECT_EQ(fingerprint(synthetic_digits(1024, 1)), 0xe92a177bee4cd8d0ull);
}

TEST(SyntheticDigits, EmptyAndNegativeSizes) {
  EXPECT_EQ(synthetic_digits(0, 1).size(), 0);
  EXPECT_THROW(synthetic_digits(-1, 1), std::invalid_argument);
}

TEST(MnistDatasetHead, TheFirstNImagesWithTheirLabels) {
  const MnistDataset set = synthetic_digits(30, 5);
  const MnistDataset head = set.head(12);
  ASSERT_EQ(head.size(), 12);
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(head.label(i), set.label(i));
    EXPECT_EQ(std::vector<uint8_t>(head.image(i), head.image(i) + 784),
              std::vector<uint8_t>(set.image(i), set.image(i) + 784));
  }
  EXPECT_EQ(head.name(), set.name());
  EXPECT_EQ(head.normalization().mean, set.normalization().mean);
  EXPECT_EQ(head.rows(), 28);
}

TEST(MnistDatasetHead, MoreThanTheSetHoldsIsTheWholeSetAndNegativeThrows) {
  const MnistDataset set = synthetic_digits(10, 5);
  EXPECT_EQ(all_pixels(set.head(1000)), all_pixels(set));
  EXPECT_EQ(set.head(0).size(), 0);
  EXPECT_THROW(set.head(-1), std::invalid_argument);
}

}  // namespace
}  // namespace qg::data
