// Image files (datasets/image.h): PNG, PGM and PPM decode to the gray pixels drawn (colour through luma,
// transparency over white); MNIST's preprocessing of a drawn digit inverts a light background, crops to the
// ink, scales the box's longer side to 20 and centres the mass in 28x28; bad files get an error naming them.
#include <gtest/gtest.h>

#include <algorithm>

#include "datasets/digit_images.h"
#include "datasets/image.h"
#include "datasets/test_files.h"
#include "util/atomic_file.h"

namespace qg::data {
namespace {

using testing::drawn_l;
using testing::pgm_bytes;
using testing::png_bytes;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

TEST(Image, PngAndPgmDecodeToTheDrawnPixels) {
  const GrayImage drawn = drawn_l(240, 20);
  for (const std::string& bytes : {png_bytes(drawn), pgm_bytes(drawn)}) {
    ASSERT_TRUE(looks_like_image(bytes));
    const GrayImage decoded = decode_gray_image(bytes, "l.img");
    EXPECT_EQ(decoded.width, 90);
    EXPECT_EQ(decoded.height, 80);
    EXPECT_EQ(decoded.pixels, drawn.pixels);
  }
}

TEST(Image, ColourBecomesLumaAndTransparencyWhite) {
  // 2x1 RGB: red and white. stb_image's luma is (77 r + 150 g + 29 b) >> 8: red 76, white 255.
  const std::string ppm = std::string("P6\n2 1\n255\n") + std::string("\xff\x00\x00\xff\xff\xff", 6);
  EXPECT_EQ(decode_gray_image(ppm, "c.ppm").pixels, (std::vector<uint8_t>{76, 255}));
  // 3x1 RGBA: transparent black, opaque black, half-transparent black over white.
  const std::vector<uint8_t> rgba{0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 128};
  EXPECT_EQ(decode_gray_image(encode_png(rgba, 3, 1, 4), "a.png").pixels,
            (std::vector<uint8_t>{255, 0, 127}));
}

TEST(Image, LightBackgroundDigitIsInvertedCroppedScaledAndCentredByMass) {
  const MnistPreprocessing p = preprocess_mnist_style(drawn_l(240, 20));
  EXPECT_EQ(p.source_width, 90);
  EXPECT_EQ(p.source_height, 80);
  EXPECT_EQ(p.background, 240);
  EXPECT_TRUE(p.inverted);
  EXPECT_EQ(p.peak, 235);  // 255 - 20
  EXPECT_EQ(p.box_x, 20);
  EXPECT_EQ(p.box_y, 10);
  EXPECT_EQ(p.box_width, 40);
  EXPECT_EQ(p.box_height, 60);
  EXPECT_EQ(p.scaled_width, 13);  // 40 * 20 / 60 = 13.3
  EXPECT_EQ(p.scaled_height, 20);
  // The mass is left of and below the box's centre: the digit moves right and up from the box's centring.
  EXPECT_GT(p.shift_x, 0);
  EXPECT_LT(p.shift_y, 0);
  EXPECT_NEAR(p.mass_x, 14.0, 0.5);
  EXPECT_NEAR(p.mass_y, 14.0, 0.5);
  const auto [mass_x, mass_y] = centre_of_mass(p.image);
  EXPECT_EQ(mass_x, p.mass_x);
  EXPECT_EQ(mass_y, p.mass_y);
  // White on black, 28x28, the digit inside [offset, offset + scaled) and nothing outside it.
  ASSERT_EQ(p.image.width, 28);
  ASSERT_EQ(p.image.height, 28);
  EXPECT_EQ(*std::max_element(p.image.pixels.begin(), p.image.pixels.end()), 255);
  for (int64_t y = 0; y < 28; ++y) {
    for (int64_t x = 0; x < 28; ++x) {
      const bool inside = x >= p.offset_x && x < p.offset_x + 13 && y >= p.offset_y && y < p.offset_y + 20;
      if (!inside) {
        EXPECT_EQ(p.image.at(x, y), 0) << x << "," << y;
      }
    }
  }
  const std::string text = preprocessing_text(p);
  EXPECT_NE(text.find("background 240 (median of the border): light, inverted"), std::string::npos) << text;
  EXPECT_NE(text.find("x 20, y 10, 40x60"), std::string::npos) << text;
  EXPECT_NE(text.find("scaled to 13x20"), std::string::npos) << text;
}

TEST(Image, DarkBackgroundDigitIsKeptAndGivesTheSameDigit) {
  const MnistPreprocessing light = preprocess_mnist_style(drawn_l(240, 20));
  const MnistPreprocessing dark = preprocess_mnist_style(drawn_l(20, 240));
  EXPECT_FALSE(dark.inverted);
  EXPECT_EQ(dark.background, 20);
  EXPECT_EQ(dark.image.pixels, light.image.pixels);  // levels make both 0 and 255
}

TEST(Image, AnImageWithoutADigitIsRefused) {
  const GrayImage blank{30, 30, std::vector<uint8_t>(900, 200)};
  EXPECT_NE(error_of([&] { preprocess_mnist_style(blank); }).find("no digit found"), std::string::npos);
}

TEST(Image, BadFilesGetAnErrorNamingThem) {
  const std::string png = png_bytes(drawn_l(240, 20));
  const auto error = [](const std::string& bytes) {
    return error_of([&] { decode_gray_image(bytes, "bad.png"); });
  };
  EXPECT_EQ(error("hello").rfind("bad.png: not a PNG or binary PGM/PPM image", 0), 0u) << error("hello");
  EXPECT_EQ(error(png.substr(0, png.size() / 2)).rfind("bad.png: cannot decode the image", 0), 0u)
      << error(png.substr(0, png.size() / 2));
  EXPECT_EQ(error(png.substr(0, 20)).rfind("bad.png: cannot read the image header", 0), 0u)
      << error(png.substr(0, 20));
  EXPECT_EQ(error("P5\n0 0\n255\n").rfind("bad.png: ", 0), 0u) << error("P5\n0 0\n255\n");
  EXPECT_EQ(error("P5\n9000 10\n255\n" + std::string(16, '\0')),
            "bad.png: the image is 9000x10, expected each side in 1..8192");
}

TEST(Image, ReadImageInputTakesImagesAndRawBytes) {
  testing::TempDir dir;
  const std::string raw(784, '\x07');
  util::write_file_atomically(dir.file("digit.raw"), raw);
  const ImageInput from_raw = read_image_input(dir.file("digit.raw"), 784);
  EXPECT_FALSE(from_raw.preprocessing);
  EXPECT_EQ(from_raw.pixels, std::vector<uint8_t>(784, 7));

  util::write_file_atomically(dir.file("digit.png"), png_bytes(drawn_l(240, 20)));
  const ImageInput from_png = read_image_input(dir.file("digit.png"), 784);
  ASSERT_TRUE(from_png.preprocessing);
  EXPECT_EQ(from_png.pixels, preprocess_mnist_style(drawn_l(240, 20)).image.pixels);

  util::write_file_atomically(dir.file("short.raw"), std::string(783, '\0'));
  EXPECT_EQ(error_of([&] { read_image_input(dir.file("short.raw"), 784); }),
            dir.file("short.raw") +
                ": 783 bytes, but the model takes 784 pixels per image (raw bytes), and it is not a PNG or "
                "binary PGM/PPM image");
  EXPECT_EQ(error_of([&] { read_image_input(dir.file("digit.png"), 3 * 32 * 32); }),
            dir.file("digit.png") +
                ": the MNIST-style preprocessing makes 28x28 images, but the model takes "
                "3072 pixels per image");
  util::write_file_atomically(dir.file("blank.pgm"), pgm_bytes(GrayImage{5, 5, std::vector<uint8_t>(25, 9)}));
  EXPECT_EQ(error_of([&] {
              read_image_input(dir.file("blank.pgm"), 784);
            }).rfind(dir.file("blank.pgm") + ": no digit", 0),
            0u);
}

}  // namespace
}  // namespace qg::data
