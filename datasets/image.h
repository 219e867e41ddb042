// Image files for the classifier: read a PNG or PGM/PPM of any size, gray or colour, and make it look like an
// MNIST digit, the way the MNIST images themselves were made.
//
// Decoding is stb_image (Debian's libstb-dev, linked as the shared libstb): one well-kept, widely used
// library that reads PNG and the binary PNM formats (PGM P5, PPM P6) alike, where libpng + libnetpbm would be
// two libraries with two APIs for the same job. Resampling is stb_image_resize from the same package.
//
// MNIST's preprocessing (LeCun, Cortes, Burges, "The MNIST database", yann.lecun.com/exdb/mnist): the digits
// "were size normalized to fit in a 20x20 pixel box while preserving their aspect ratio", then "centered in a
// 28x28 image by computing the center of mass of the pixels, and translating the image so as to position
// this point at the center of the 28x28 field". MNIST digits are white (255) on black (0).
// preprocess_mnist_style() does that to a photo or a drawing:
//   1. background: the median of the border pixels; above 127 (light paper, dark ink) the image is inverted;
//   2. levels: the background becomes 0 and the brightest pixel 255 (MNIST's digits reach 255);
//   3. crop to the bounding box of the ink, the pixels of at least kInkThreshold;
//   4. scale the box so that its longer side is 20 pixels, keeping the aspect ratio;
//   5. place it in 28x28 so that its centre of mass is as near the field's centre (14, 14) as whole pixels
//      allow, without cutting the digit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qg::data {

/// An 8-bit gray image, row-major: pixel (x, y) is pixels[y * width + x].
struct GrayImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;

  uint8_t at(int64_t x, int64_t y) const { return pixels[static_cast<size_t>(y * width + x)]; }
};

/// The largest width or height read_gray_image accepts (a larger image is refused before it is decoded).
inline constexpr int64_t kMaxImageSide = 8192;

/// Whether `bytes` begin like a PNG (its 8-byte signature) or a binary PGM/PPM ("P5" or "P6" and a space):
/// how a file of raw pixels is told from an image file.
bool looks_like_image(std::string_view bytes);

/// Decodes a PNG or binary PGM/PPM held in `bytes` to gray: colour by stb_image's luma (ITU-R BT.601
/// weights), transparency composited over white. Throws std::runtime_error "<name>: ..." when it is not such
/// an image, is truncated or corrupt, has a zero side, or a side above kMaxImageSide.
GrayImage decode_gray_image(std::string_view bytes, const std::string& name);

/// The pixels as the bytes of a PNG file (stb_image_write): `channels` interleaved values per pixel, 1 (gray),
/// 2 (gray, alpha), 3 (RGB) or 4 (RGBA), row-major. Throws std::invalid_argument on a size mismatch.
std::string encode_png(std::span<const uint8_t> pixels, int64_t width, int64_t height, int channels);

/// Pixels of at least this (after inversion and levels, of 255) are ink: they set the bounding box.
inline constexpr int kInkThreshold = 64;
/// MNIST's geometry: the digit's box and the field.
inline constexpr int64_t kMnistBox = 20;
inline constexpr int64_t kMnistSide = 28;

/// What preprocess_mnist_style did, and its result.
struct MnistPreprocessing {
  GrayImage image;  ///< 28x28, white digit on black
  int64_t source_width = 0, source_height = 0;
  int background = 0;     ///< the median border pixel of the source, before inversion
  bool inverted = false;  ///< the background was light
  int peak = 0;           ///< the brightest pixel after inversion (levels map it to 255)
  int64_t box_x = 0, box_y = 0, box_width = 0, box_height = 0;  ///< the ink's bounding box in the source
  int64_t scaled_width = 0, scaled_height = 0;                  ///< the box after scaling (longer side 20)
  int64_t offset_x = 0, offset_y = 0;  ///< where the scaled box's top-left lies in the 28x28 field
  int64_t shift_x = 0, shift_y = 0;    ///< offset minus the offset that would centre the box itself
  double mass_x = 0.0, mass_y = 0.0;   ///< the result's centre of mass (pixel centres at i + 0.5)
};

/// MNIST's preprocessing of `image` (steps 1-5 above). A pure function of the pixels. Throws
/// std::runtime_error when there is no digit: every pixel within kInkThreshold / 2 of the background.
MnistPreprocessing preprocess_mnist_style(const GrayImage& image);

/// The steps taken, one per line ("background 243 (median of the border): light, inverted"...). Deterministic.
std::string preprocessing_text(const MnistPreprocessing& p);

/// The centre of mass of an image's pixel values, (x, y) with pixel centres at i + 0.5; the image's centre
/// when every pixel is 0.
std::pair<double, double> centre_of_mass(const GrayImage& image);

/// The pixels of one image for a model, and how they were made.
struct ImageInput {
  std::vector<uint8_t> pixels;                      ///< row-major, the model's pixels per sample
  std::optional<MnistPreprocessing> preprocessing;  ///< set for an image file
};

/// One image for a model that takes `pixels` bytes per sample: a PNG/PGM/PPM file is decoded and
/// preprocessed MNIST-style (then `pixels` must be 28 * 28), any other file must hold exactly `pixels` raw
/// bytes, row-major. Throws std::runtime_error naming `path` otherwise (util::read_file's errors for a
/// missing file or one above 256 MiB).
ImageInput read_image_input(const std::string& path, int64_t pixels);

}  // namespace qg::data
