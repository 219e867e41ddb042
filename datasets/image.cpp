#include "datasets/image.h"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <stdexcept>
#include <tuple>

#include "util/atomic_file.h"

namespace qg::data {

namespace {

// ---- decoding -----------------------------------------------------------------------------------------

struct StbFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};

std::runtime_error image_error(const std::string& name, const std::string& what) {
  return std::runtime_error(name + ": " + what);
}

const stbi_uc* as_stb(std::string_view bytes) {
  return reinterpret_cast<const stbi_uc*>(bytes.data());
}

// Gray + alpha -> gray over a white background: g a / 255 + 255 (1 - a / 255), rounded.
uint8_t over_white(stbi_uc gray, stbi_uc alpha) {
  return static_cast<uint8_t>((gray * alpha + 255 * (255 - alpha) + 127) / 255);
}

// ---- preprocessing ------------------------------------------------------------------------------------

int median_border(const GrayImage& image) {
  std::vector<uint8_t> border;
  for (int64_t x = 0; x < image.width; ++x) {
    border.push_back(image.at(x, 0));
    border.push_back(image.at(x, image.height - 1));
  }
  for (int64_t y = 1; y + 1 < image.height; ++y) {
    border.push_back(image.at(0, y));
    border.push_back(image.at(image.width - 1, y));
  }
  const auto middle = border.begin() + static_cast<int64_t>(border.size() / 2);
  std::nth_element(border.begin(), middle, border.end());
  return *middle;
}

// Steps 1 and 2: white ink on a black background, the background at 0 and the brightest pixel at 255.
GrayImage normalise_levels(const GrayImage& image, MnistPreprocessing& p) {
  p.background = median_border(image);
  p.inverted = p.background > 127;
  GrayImage out = image;
  for (uint8_t& v : out.pixels)
    v = p.inverted ? static_cast<uint8_t>(255 - v) : v;
  const int background = p.inverted ? 255 - p.background : p.background;
  p.peak = *std::max_element(out.pixels.begin(), out.pixels.end());
  if (p.peak - background < kInkThreshold / 2) {
    throw std::runtime_error("no digit found: every pixel is within " + std::to_string(kInkThreshold / 2) +
                             " of the background " + std::to_string(p.background));
  }
  for (uint8_t& v : out.pixels) {
    const int level = std::clamp((int{v} - background) * 255 / (p.peak - background), 0, 255);
    v = static_cast<uint8_t>(level);
  }
  return out;
}

// Step 3: the bounding box of the ink.
GrayImage crop_to_ink(const GrayImage& image, MnistPreprocessing& p) {
  int64_t x0 = image.width, y0 = image.height, x1 = -1, y1 = -1;
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      if (image.at(x, y) < kInkThreshold) continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  }
  // normalise_levels made the peak 255 >= kInkThreshold, so the box is never empty.
  p.box_x = x0;
  p.box_y = y0;
  p.box_width = x1 - x0 + 1;
  p.box_height = y1 - y0 + 1;
  GrayImage box{p.box_width, p.box_height, {}};
  for (int64_t y = y0; y <= y1; ++y) {
    for (int64_t x = x0; x <= x1; ++x)
      box.pixels.push_back(image.at(x, y));
  }
  return box;
}

// Step 4: the longer side becomes 20 pixels, the shorter one in proportion (at least 1). stb_image_resize
// filters with Mitchell when shrinking and Catmull-Rom when enlarging.
GrayImage scale_to_box(const GrayImage& box, MnistPreprocessing& p) {
  const int64_t longer = std::max(box.width, box.height);
  const auto scaled = [&](int64_t side) {
    return std::max<int64_t>(
        1, std::llround(static_cast<double>(side * kMnistBox) / static_cast<double>(longer)));
  };
  GrayImage out{scaled(box.width), scaled(box.height), {}};
  out.pixels.resize(static_cast<size_t>(out.width * out.height));
  if (!stbir_resize_uint8(box.pixels.data(), static_cast<int>(box.width), static_cast<int>(box.height), 0,
                          out.pixels.data(), static_cast<int>(out.width), static_cast<int>(out.height), 0,
                          1)) {
    throw std::runtime_error("stb_image_resize failed to scale the digit");
  }
  p.scaled_width = out.width;
  p.scaled_height = out.height;
  return out;
}

// Step 5: the offset that brings the centre of mass nearest the field's centre, keeping the digit inside.
int64_t centring_offset(double mass, int64_t side) {
  const auto offset = static_cast<int64_t>(std::llround(static_cast<double>(kMnistSide) / 2 - mass));
  return std::clamp<int64_t>(offset, 0, kMnistSide - side);
}

GrayImage place_by_mass(const GrayImage& digit, MnistPreprocessing& p) {
  const auto [mass_x, mass_y] = centre_of_mass(digit);
  p.offset_x = centring_offset(mass_x, digit.width);
  p.offset_y = centring_offset(mass_y, digit.height);
  p.shift_x = p.offset_x - (kMnistSide - digit.width) / 2;
  p.shift_y = p.offset_y - (kMnistSide - digit.height) / 2;
  GrayImage field{kMnistSide, kMnistSide, std::vector<uint8_t>(kMnistSide * kMnistSide, 0)};
  for (int64_t y = 0; y < digit.height; ++y) {
    for (int64_t x = 0; x < digit.width; ++x)
      field.pixels[static_cast<size_t>((y + p.offset_y) * kMnistSide + x + p.offset_x)] = digit.at(x, y);
  }
  std::tie(p.mass_x, p.mass_y) = centre_of_mass(field);
  return field;
}

std::string fixed1(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

std::string signed_int(int64_t value) {
  std::string text = value >= 0 ? "+" : "";
  return text += std::to_string(value);
}

}  // namespace

bool looks_like_image(std::string_view bytes) {
  static constexpr std::string_view kPng("\x89PNG\r\n\x1a\n", 8);
  if (bytes.substr(0, 8) == kPng) return true;
  return bytes.size() >= 3 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6') &&
         std::isspace(static_cast<unsigned char>(bytes[2]));
}

GrayImage decode_gray_image(std::string_view bytes, const std::string& name) {
  if (!looks_like_image(bytes)) {
    throw image_error(name, "not a PNG or binary PGM/PPM image (no PNG signature, no P5/P6 magic)");
  }
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw image_error(name,
                      "the file is too large for an image (" + std::to_string(bytes.size()) + " bytes)");
  }
  const int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(as_stb(bytes), length, &width, &height, &channels)) {
    throw image_error(name, std::string("cannot read the image header: ") + stbi_failure_reason());
  }
  if (width < 1 || height < 1 || width > kMaxImageSide || height > kMaxImageSide) {
    throw image_error(name, "the image is " + std::to_string(width) + "x" + std::to_string(height) +
                                ", expected each side in 1.." + std::to_string(kMaxImageSide));
  }
  // Two channels, gray and alpha, whatever the file holds: stb converts colour to luma and adds alpha 255.
  const std::unique_ptr<stbi_uc, StbFree> decoded(
      stbi_load_from_memory(as_stb(bytes), length, &width, &height, &channels, 2));
  if (!decoded) throw image_error(name, std::string("cannot decode the image: ") + stbi_failure_reason());
  GrayImage image{width, height, {}};
  image.pixels.resize(static_cast<size_t>(image.width * image.height));
  for (size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = over_white(decoded.get()[2 * i], decoded.get()[2 * i + 1]);
  return image;
}

std::string encode_png(std::span<const uint8_t> pixels, int64_t width, int64_t height, int channels) {
  if (width < 1 || height < 1 || width > kMaxImageSide || height > kMaxImageSide || channels < 1 ||
      channels > 4 || pixels.size() != static_cast<size_t>(width * height * channels)) {
    throw std::invalid_argument("encode_png: " + std::to_string(pixels.size()) + " values for a " +
                                std::to_string(width) + "x" + std::to_string(height) + " image of " +
                                std::to_string(channels) + " channels");
  }
  std::string png;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &png, static_cast<int>(width), static_cast<int>(height), channels,
                              pixels.data(), static_cast<int>(width * channels))) {
    throw std::runtime_error("encode_png: stb_image_write failed");
  }
  return png;
}

std::pair<double, double> centre_of_mass(const GrayImage& image) {
  double mass = 0.0, sum_x = 0.0, sum_y = 0.0;
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      const double v = image.at(x, y);
      mass += v;
      sum_x += v * (static_cast<double>(x) + 0.5);
      sum_y += v * (static_cast<double>(y) + 0.5);
    }
  }
  if (mass == 0.0) return {static_cast<double>(image.width) / 2, static_cast<double>(image.height) / 2};
  return {sum_x / mass, sum_y / mass};
}

MnistPreprocessing preprocess_mnist_style(const GrayImage& image) {
  if (image.width < 1 || image.height < 1 ||
      image.pixels.size() != static_cast<size_t>(image.width * image.height)) {
    throw std::invalid_argument(
        "preprocess_mnist_style: the image has no pixels or the wrong number of them");
  }
  MnistPreprocessing p;
  p.source_width = image.width;
  p.source_height = image.height;
  const GrayImage levelled = normalise_levels(image, p);
  const GrayImage box = crop_to_ink(levelled, p);
  const GrayImage digit = scale_to_box(box, p);
  p.image = place_by_mass(digit, p);
  return p;
}

std::string preprocessing_text(const MnistPreprocessing& p) {
  std::string text = "image " + std::to_string(p.source_width) + "x" + std::to_string(p.source_height) +
                     ", background " + std::to_string(p.background) + " (median of the border): " +
                     (p.inverted ? "light, inverted to white on black\n" : "dark, kept\n");
  text += "levels: background -> 0, brightest " + std::to_string(p.peak) + " -> 255\n";
  text += "digit's bounding box (pixels >= " + std::to_string(kInkThreshold) + "): x " +
          std::to_string(p.box_x) + ", y " + std::to_string(p.box_y) + ", " + std::to_string(p.box_width) +
          "x" + std::to_string(p.box_height) + "\n";
  text += "scaled to " + std::to_string(p.scaled_width) + "x" + std::to_string(p.scaled_height) +
          " (longer side " + std::to_string(kMnistBox) + ", aspect ratio kept)\n";
  text += "placed in 28x28 at x " + std::to_string(p.offset_x) + ", y " + std::to_string(p.offset_y) +
          " (shift " + signed_int(p.shift_x) + ", " + signed_int(p.shift_y) +
          " from the box's centring): centre of mass (" + fixed1(p.mass_x) + ", " + fixed1(p.mass_y) + ")\n";
  return text;
}

ImageInput read_image_input(const std::string& path, int64_t pixels) {
  const std::string bytes = util::read_file(path, size_t{1} << 28);
  ImageInput input;
  if (looks_like_image(bytes)) {
    if (pixels != kMnistSide * kMnistSide) {
      throw image_error(path, "the MNIST-style preprocessing makes 28x28 images, but the model takes " +
                                  std::to_string(pixels) + " pixels per image");
    }
    const GrayImage image = decode_gray_image(bytes, path);  // its errors name the path
    try {
      input.preprocessing = preprocess_mnist_style(image);
    } catch (const std::exception& e) {
      throw image_error(path, e.what());
    }
    input.pixels = input.preprocessing->image.pixels;
    return input;
  }
  if (static_cast<int64_t>(bytes.size()) != pixels) {
    throw image_error(path, std::to_string(bytes.size()) + " bytes, but the model takes " +
                                std::to_string(pixels) +
                                " pixels per image (raw bytes), and it is not a PNG or binary PGM/PPM image");
  }
  input.pixels.assign(bytes.begin(), bytes.end());
  return input;
}

}  // namespace qg::data
