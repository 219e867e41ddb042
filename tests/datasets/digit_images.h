// Test helpers: synthetic drawn digits as image files (PNG through datasets/image.h's encode_png, PGM/PPM
// written byte by byte), so that the image tests need no committed binaries.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/image.h"

namespace qg::data::testing {

/// An "L" drawn with `ink` on `paper` in a 90x80 image: a vertical bar x 20..27, y 10..69 and a foot
/// y 62..69, x 20..59. Its bounding box is x 20, y 10, 40x60; its mass lies left of and below the box's
/// centre (about x 31.0, y 49.0).
inline GrayImage drawn_l(uint8_t paper, uint8_t ink) {
  GrayImage image{90, 80, std::vector<uint8_t>(90 * 80, paper)};
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      const bool stem = x >= 20 && x <= 27 && y >= 10 && y <= 69;
      const bool foot = y >= 62 && y <= 69 && x >= 20 && x <= 59;
      if (stem || foot) image.pixels[static_cast<size_t>(y * image.width + x)] = ink;
    }
  }
  return image;
}

/// A binary PGM (P5) of `image`.
inline std::string pgm_bytes(const GrayImage& image) {
  std::string bytes = "P5\n" + std::to_string(image.width) + " " + std::to_string(image.height) + "\n255\n";
  bytes.append(image.pixels.begin(), image.pixels.end());
  return bytes;
}

inline std::string png_bytes(const GrayImage& image) {
  return encode_png(image.pixels, image.width, image.height, 1);
}

}  // namespace qg::data::testing
