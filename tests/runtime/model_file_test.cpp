// The model file: CRC-32 and bit packing, bit-exact save/load round trips for 1..8-bit codes, atomic
// saving, and a specific error for every kind of broken file.
#include "runtime/model_file.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>

#include "error_text.h"
#include "random_models.h"
#include "runtime/bit_packing.h"
#include "runtime/model_json.h"
#include "runtime/run.h"
#include "util/binary_io.h"
#include "util/checksum.h"

namespace qg::runtime {
namespace {

using nlohmann::json;
using testing::contains;
using testing::error_of;
using testing::LayerBits;
using Bytes = std::vector<uint8_t>;

// ---- bit packing (the CRC-32: tests/util/container_test.cpp) ----------------------------------------------

TEST(BitPacking, KnownLayouts) {
  Bytes out;
  pack_codes(std::vector<int16_t>{1, 2, 15}, 4, false, out);  // low nibble first
  EXPECT_EQ(out, (Bytes{0x21, 0x0F}));
  out.clear();
  // 3-bit codes 5, 3, 7 -> stream bits 101 | 011 | 111 from bit 0: 0b1'1101'1101 -> 0xDD, 0x01.
  pack_codes(std::vector<int16_t>{5, 3, 7}, 3, false, out);
  EXPECT_EQ(out, (Bytes{0xDD, 0x01}));
  out.clear();
  pack_codes(std::vector<int16_t>{-1, -8, 7}, 4, true, out);  // two's complement nibbles F, 8, 7
  EXPECT_EQ(out, (Bytes{0x8F, 0x07}));
  out.clear();
  pack_codes(std::vector<int16_t>{-128, 127, 0}, 8, true, out);  // int8 bytes
  EXPECT_EQ(out, (Bytes{0x80, 0x7F, 0x00}));
  out.clear();
  pack_int32_le(std::vector<int32_t>{1, -2}, out);
  EXPECT_EQ(out, (Bytes{1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(unpack_int32_le(out), (std::vector<int32_t>{1, -2}));
}

TEST(BitPacking, RoundTripEveryWidthAndSignedness) {
  std::mt19937 rng(31);
  for (int bits = 1; bits <= 8; ++bits) {
    for (const bool is_signed : {false, true}) {
      for (const int64_t count : {0, 1, 7, 8, 9, 1001}) {
        const std::vector<int16_t> codes = testing::random_codes16(rng, count, bits, is_signed);
        Bytes packed = {0xAB};  // packing appends
        pack_codes(codes, bits, is_signed, packed);
        ASSERT_EQ(static_cast<int64_t>(packed.size()) - 1, (count * bits + 7) / 8);
        std::vector<int16_t> unpacked;
        ASSERT_TRUE(unpack_codes(std::span(packed).subspan(1), count, bits, is_signed, unpacked));
        ASSERT_EQ(unpacked, codes) << bits << " bits, signed " << is_signed << ", " << count << " codes";
      }
    }
  }
}

TEST(BitPacking, UnusedTrailingBitsMustBeZero) {
  std::vector<int16_t> codes;
  EXPECT_TRUE(unpack_codes(Bytes{0x07}, 1, 3, false, codes));
  EXPECT_FALSE(unpack_codes(Bytes{0x0F}, 1, 3, false, codes));
}

// ---- round trips ---------------------------------------------------------------------------------

void expect_same_model(const Model& a, const Model& b) {
  EXPECT_EQ(a.input.shape, b.input.shape);
  EXPECT_EQ(a.input.quant, b.input.quant);
  EXPECT_EQ(a.input.mean, b.input.mean);
  EXPECT_EQ(a.input.stddev, b.input.stddev);
  EXPECT_EQ(a.output.quant, b.output.quant);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t i = 0; i < a.ops.size(); ++i) {
    ASSERT_EQ(a.ops[i].index(), b.ops[i].index()) << "op " << i;
    const auto check_layer = [&](const auto& x, const auto& y) {
      EXPECT_EQ(x.input_quant, y.input_quant);
      EXPECT_EQ(x.weight.shape, y.weight.shape);
      EXPECT_EQ(x.weight.codes, y.weight.codes);
      EXPECT_EQ(x.weight.bits, y.weight.bits);
      EXPECT_EQ(x.weight.is_signed, y.weight.is_signed);
      EXPECT_EQ(x.weight.scales, y.weight.scales);  // doubles survive the JSON text exactly
      EXPECT_EQ(x.weight.zero_points, y.weight.zero_points);
      EXPECT_EQ(x.bias, y.bias);
      EXPECT_EQ(x.output_stage.real_multipliers, y.output_stage.real_multipliers);
      EXPECT_EQ(x.output_stage.multipliers, y.output_stage.multipliers);
      EXPECT_EQ(x.output_stage.output, y.output_stage.output);
      EXPECT_EQ(x.output_stage.clamp_min, y.output_stage.clamp_min);
      EXPECT_EQ(x.output_stage.clamp_max, y.output_stage.clamp_max);
    };
    if (const auto* conv = std::get_if<Conv2d>(&a.ops[i])) {
      const auto& other = std::get<Conv2d>(b.ops[i]);
      check_layer(*conv, other);
      EXPECT_EQ(conv->window, other.window);
      EXPECT_EQ(conv->groups, other.groups);
    } else if (const auto* linear = std::get_if<Linear>(&a.ops[i])) {
      check_layer(*linear, std::get<Linear>(b.ops[i]));
    } else if (const auto* pool = std::get_if<MaxPool2d>(&a.ops[i])) {
      EXPECT_EQ(pool->window, std::get<MaxPool2d>(b.ops[i]).window);
    } else if (const auto* avg = std::get_if<AvgPool2d>(&a.ops[i])) {
      EXPECT_EQ(avg->window, std::get<AvgPool2d>(b.ops[i]).window);
    }
  }
}

TEST(ModelFile, RoundTripIsBitExactForEveryBitWidth) {
  std::mt19937 rng(32);
  for (int bits = 1; bits <= 8; ++bits) {
    for (const bool is_signed : {false, true}) {
      LayerBits b;
      b.weight_bits = b.out_bits = bits;
      b.weight_signed = is_signed;           // at 1 bit, binary weights
      b.out_signed = is_signed && bits > 1;  // an activation cannot be binary
      b.per_channel = bits % 2 == 0;
      const Model model = testing::small_cnn(rng, b, std::max(bits, 2));
      const Bytes bytes = serialize_model(model);
      const Model loaded = deserialize_model(bytes);
      expect_same_model(model, loaded);
      EXPECT_EQ(serialize_model(loaded), bytes);
      const IntTensor input = testing::random_input(rng, model, 3);
      EXPECT_EQ(run(loaded, input).data, run(model, input).data);
      // Weights are packed at their width: the first conv's 4*2*3*3 = 72 codes take ceil(72 * bits / 8)
      // bytes.
      const uint64_t header_size = util::read_le<uint64_t>(bytes, 16);
      const json header =
          json::parse(bytes.begin() + 32, bytes.begin() + 32 + static_cast<int64_t>(header_size));
      EXPECT_EQ(header["tensors"][0]["length"], (72 * bits + 7) / 8);
      EXPECT_EQ(header["tensors"][0]["dtype"], (is_signed ? "int" : "uint") + std::to_string(bits));
      EXPECT_EQ(header["tensors"][1]["dtype"], "int32");
    }
  }
}

TEST(ModelFile, CodesStoredWiderThanTheirBitWidthAreAccepted) {
  std::mt19937 rng(33);
  LayerBits b;
  b.weight_bits = 3;
  const Model model = testing::small_cnn(rng, b);
  EncodedModel encoded = encode_model(model);
  // Re-store tensor 0 (3-bit codes) one byte per code, as a writer that does not pack might.
  const auto& conv = std::get<Conv2d>(model.ops[0]);
  Bytes data = encoded.data;
  const auto offset = static_cast<size_t>(data.size());
  pack_codes(conv.weight.codes, 8, false, data);
  encoded.header["tensors"][0]["dtype"] = "uint8";
  encoded.header["tensors"][0]["offset"] = offset;
  encoded.header["tensors"][0]["length"] = conv.weight.codes.size();
  const Model decoded = decode_model(encoded.header, data);
  EXPECT_EQ(std::get<Conv2d>(decoded.ops[0]).weight.codes, conv.weight.codes);
  EXPECT_EQ(std::get<Conv2d>(decoded.ops[0]).weight.bits, 3);
}

// ---- saving to disk --------------------------------------------------------------------------------

class ModelFileOnDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("qg_runtime_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t file_count() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_), {}));
  }
  static Bytes read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const std::string& p, const Bytes& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  std::filesystem::path dir_;
};

TEST_F(ModelFileOnDisk, SaveLoadAndReplaceAtomically) {
  std::mt19937 rng(34);
  const Model first = testing::small_cnn(rng, LayerBits{});
  const Model second = testing::small_cnn(rng, LayerBits{.weight_bits = 4});
  save_model(first, path("m.qgm"));
  expect_same_model(first, load_model(path("m.qgm")));
  EXPECT_EQ(read(path("m.qgm")), serialize_model(first));
  save_model(second, path("m.qgm"));  // replaces the existing file
  expect_same_model(second, load_model(path("m.qgm")));
  EXPECT_EQ(file_count(), 1u);  // no temporary file left behind
}

TEST_F(ModelFileOnDisk, FailedSaveLeavesTheExistingFileUntouched) {
  std::mt19937 rng(35);
  const Model good = testing::small_cnn(rng, LayerBits{});
  save_model(good, path("m.qgm"));
  const Bytes before = read(path("m.qgm"));
  Model broken = good;
  broken.output.quant.zero_point += 1;  // inconsistent: cannot be serialized
  EXPECT_THROW(save_model(broken, path("m.qgm")), ModelFileError);
  EXPECT_EQ(read(path("m.qgm")), before);
  EXPECT_EQ(file_count(), 1u);
  EXPECT_TRUE(contains(error_of([&] { save_model(good, path("missing_dir/m.qgm")); }),
                       "save_model: " + path("missing_dir/m.qgm") + ".tmp."));
}

TEST_F(ModelFileOnDisk, LoadNamesThePath) {
  EXPECT_TRUE(contains(error_of([&] { load_model(path("absent.qgm")); }),
                       "load_model: " + path("absent.qgm") + ": cannot open"));
  write(path("short.qgm"), Bytes{'Q', 'G'});
  EXPECT_EQ(error_of([&] { load_model(path("short.qgm")); }),
            "load_model: " + path("short.qgm") +
                ": truncated: the file has 2 bytes, fewer than the 36 of the fixed header and checksum");
}

// ---- broken files ---------------------------------------------------------------------------------

/// A valid file to break: small_cnn with 8-bit unsigned weights. Tensors: 0/1 conv weight/bias,
/// 2/3 second conv, 4/5 linear (op 6).
Bytes valid_file() {
  std::mt19937 rng(36);
  return serialize_model(testing::small_cnn(rng, LayerBits{}));
}

/// Recomputes the trailing CRC after an edit of the bytes before it.
Bytes with_fresh_checksum(Bytes bytes) {
  if (bytes.size() < 4) throw std::logic_error("with_fresh_checksum: no checksum to replace");
  bytes.resize(bytes.size() - 4);
  util::append_le<uint32_t>(bytes, util::crc32(bytes));
  return bytes;
}

/// The file with its header text replaced (lengths and checksum recomputed).
Bytes with_header_text(const Bytes& file, const std::string& text) {
  const uint64_t header_size = util::read_le<uint64_t>(file, 16),
                 data_size = util::read_le<uint64_t>(file, 24);
  Bytes out(file.begin(), file.begin() + 16);
  util::append_le<uint64_t>(out, text.size());
  util::append_le<uint64_t>(out, data_size);
  out.insert(out.end(), text.begin(), text.end());
  const auto data = file.begin() + 32 + static_cast<int64_t>(header_size);
  out.insert(out.end(), data, data + static_cast<int64_t>(data_size));
  util::append_le<uint32_t>(out, util::crc32(out));
  return out;
}

/// The file with its header JSON edited by `edit`.
Bytes with_header(const Bytes& file, const std::function<void(json&)>& edit) {
  const uint64_t header_size = util::read_le<uint64_t>(file, 16);
  json header = json::parse(file.begin() + 32, file.begin() + 32 + static_cast<int64_t>(header_size));
  edit(header);
  return with_header_text(file, header.dump());
}

std::string load_error(const Bytes& bytes) {
  try {
    deserialize_model(bytes, "m.qgm");
  } catch (const ModelFileError& e) {
    return e.what();
  }
  return "(loaded without error)";
}

TEST(BrokenModelFile, FramingErrors) {
  const Bytes file = valid_file();
  ASSERT_EQ(load_error(file), "(loaded without error)");
  Bytes bad = file;
  bad[0] = 'X';
  EXPECT_EQ(load_error(bad),
            "load_model: m.qgm: bad magic at offset 0: expected \"QGMODEL\\0\", this is not a quantgrad "
            "model file");
  bad = file;
  bad[8] = 4;
  EXPECT_EQ(load_error(bad),
            "load_model: m.qgm: unsupported format version 4 at offset 8 (this build reads versions 1 to 3)");
  bad[8] = 0;
  EXPECT_EQ(load_error(bad),
            "load_model: m.qgm: unsupported format version 0 at offset 8 (this build reads versions 1 to 3)");
  bad = file;
  bad[12] = 1;
  EXPECT_EQ(load_error(bad), "load_model: m.qgm: reserved field at offset 12 must be 0, found 1");
  EXPECT_TRUE(contains(load_error(Bytes{}), "truncated: the file has 0 bytes"));
  EXPECT_TRUE(
      contains(load_error(Bytes(file.begin(), file.begin() + 20)), "truncated: the file has 20 bytes"));
  for (const size_t keep : {file.size() - 1, file.size() / 2, size_t{40}}) {
    EXPECT_TRUE(contains(load_error(Bytes(file.begin(), file.begin() + static_cast<int64_t>(keep))),
                         "m.qgm: truncated: the header at offset 16 declares"))
        << keep;
  }
  bad = file;
  bad.push_back(0);
  EXPECT_TRUE(
      contains(load_error(bad), "unexpected 1 trailing bytes after offset " + std::to_string(file.size())));
}

TEST(BrokenModelFile, LyingSizesAreCaughtBeforeAnyAllocation) {
  const Bytes file = valid_file();
  for (const uint64_t lie : {uint64_t{1} << 63, ~uint64_t{0}, uint64_t{1} << 40}) {
    Bytes bad = file;
    for (int i = 0; i < 8; ++i)
      bad[static_cast<size_t>(16 + i)] = static_cast<uint8_t>(lie >> (8 * i));
    EXPECT_TRUE(contains(load_error(bad), "declares " + std::to_string(lie) + " bytes of JSON")) << lie;
    bad = file;
    for (int i = 0; i < 8; ++i)
      bad[static_cast<size_t>(24 + i)] = static_cast<uint8_t>(lie >> (8 * i));
    EXPECT_TRUE(contains(load_error(bad), std::to_string(lie) + " bytes of tensor data")) << lie;
  }
}

TEST(BrokenModelFile, AnyFlippedByteFailsTheChecksum) {
  const Bytes file = valid_file();
  const uint64_t header_size = util::read_le<uint64_t>(file, 16);
  const size_t in_header = 32 + header_size / 2, in_data = file.size() - 10, in_checksum = file.size() - 1;
  for (const size_t at : {in_header, in_data, in_checksum}) {
    Bytes bad = file;
    bad[at] ^= 0x10;
    EXPECT_TRUE(contains(load_error(bad), "m.qgm: checksum mismatch: the CRC-32 stored at offset " +
                                              std::to_string(file.size() - 4)))
        << "byte " << at;
  }
}

TEST(BrokenModelFile, MalformedOrHostileJson) {
  const Bytes file = valid_file();
  EXPECT_TRUE(
      contains(load_error(with_header_text(file, "{\"input\": [")), "m.qgm: header JSON is malformed: "));
  EXPECT_TRUE(contains(load_error(with_header_text(file, "[1, 2]")), "header field /: expected an object"));
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(contains(load_error(with_header(file, [&](json& h) { h["metadata"] = json::parse(deep); })),
                       "nesting deeper than 64 levels"));
}

TEST(BrokenModelFile, FieldErrorsNameTheJsonPath) {
  const Bytes file = valid_file();
  const auto edited = [&](const std::function<void(json&)>& edit) {
    return load_error(with_header(file, edit));
  };
  EXPECT_EQ(edited([](json& h) { h["ops"][0].erase("weight"); }),
            "load_model: m.qgm: header field /ops/0/weight: missing field");
  EXPECT_EQ(edited([](json& h) { h["ops"][0]["groups"] = "1"; }),
            "load_model: m.qgm: header field /ops/0/groups: expected an integer, found string");
  EXPECT_EQ(edited([](json& h) { h["ops"][1]["type"] = "gelu"; }),
            "load_model: m.qgm: header field /ops/1/type: unknown op type 'gelu' (known: conv2d, linear, "
            "mul_add, max_pool2d, avg_pool2d, relu, flatten, add, concat, clip)");
  EXPECT_EQ(edited([](json& h) { h["ops"][0]["weight"]["tensor"] = 17; }),
            "load_model: m.qgm: header field /ops/0/weight/tensor: expected an integer in [0, 5], found 17");
  EXPECT_TRUE(contains(edited([](json& h) { h["input"]["quant"]["scale"] = -1.0; }),
                       "header field /input/quant: quantization: scale must be finite and positive"));
  EXPECT_TRUE(contains(
      edited([](json& h) { h["ops"][2]["output_stage"]["multipliers"][0][1] = 40; }),
      "header field /ops/2/output_stage/multipliers/0/1: expected an integer in [-31, 30], found 40"));
  EXPECT_EQ(
      edited([](json& h) { h["ops"][0]["weight"]["scales"].push_back(0.5); }),
      "load_model: m.qgm: header field /ops/0/weight/zero_points: expected an array of 2 elements, found 1");
  EXPECT_EQ(edited([](json& h) { h.erase("tensors"); }),
            "load_model: m.qgm: header field /tensors: missing field");
}

// Issue 10, item 1: a model file cannot hold a non-finite parameter. JSON has no NaN or Infinity, and a
// number too large for a double (1e999, the one way to write an infinite one) is refused by the parser;
// every number read goes through JsonField::as_double, which refuses a non-finite one naming its field.
TEST(BrokenModelFile, NonFiniteParametersAreRefused) {
  const Bytes file = valid_file();
  const uint64_t header_size = util::read_le<uint64_t>(file, 16);
  const json header = json::parse(file.begin() + 32, file.begin() + 32 + static_cast<int64_t>(header_size));
  for (const char* pointer : {"/ops/0/weight/scales/0", "/input/mean/0", "/input/quant/scale"}) {
    json edited = header;
    edited[json::json_pointer(pointer)] = 12345.25;  // a placeholder, replaced in the text
    std::string text = edited.dump();
    text.replace(text.find("12345.25"), 8, "1e999");
    const std::string error = load_error(with_header_text(file, text));
    EXPECT_TRUE(contains(error, "load_model: m.qgm: header JSON is malformed: ")) << pointer << ": " << error;
    EXPECT_TRUE(contains(error, "1e999")) << pointer << ": " << error;
  }
  std::string text = header.dump();
  text.insert(text.find("\"mean\":[") + 8, "NaN,");
  EXPECT_TRUE(contains(load_error(with_header_text(file, text)), "header JSON is malformed"));
}

TEST(BrokenModelFile, TensorTableErrors) {
  const Bytes file = valid_file();
  const auto edited = [&](const std::function<void(json&)>& edit) {
    return load_error(with_header(file, edit));
  };
  const uint64_t data_size = util::read_le<uint64_t>(file, 24);
  EXPECT_EQ(edited([](json& h) { h["tensors"][1]["offset"] = 1000000; }),
            "load_model: m.qgm: header field /tensors/1: bytes [1000000, 1000000 + 16) lie outside the " +
                std::to_string(data_size) + "-byte data section");
  EXPECT_EQ(
      edited([](json& h) {
        h["tensors"][0]["shape"] = {4, 2, 3, 2};
      }),
      "load_model: m.qgm: header field /tensors/0/length: shape [4,2,3,2] of uint8 needs 48 bytes, found 72");
  EXPECT_EQ(edited([](json& h) { h["tensors"][0]["dtype"] = "float32"; }),
            "load_model: m.qgm: header field /tensors/0/dtype: unknown dtype 'float32' (expected int32, "
            "uint1..uint8 "
            "or int1..int8)");
  EXPECT_TRUE(contains(edited([](json& h) { h["tensors"][0]["dtype"] = "int8"; }),
                       "header field /tensors/0/dtype: dtype int8 cannot hold 8-bit unsigned weight codes"));
  EXPECT_TRUE(
      contains(edited([](json& h) { h["ops"][0]["bias"]["tensor"] = 0; }),
               "header field /tensors/0/dtype: expected int32 for the bias referenced from /ops/0/bias"));
  EXPECT_EQ(edited([](json& h) {
              h["tensors"][1]["shape"] = {2, 2};
            }),
            "load_model: m.qgm: header field /tensors/1/shape: a bias must be 1-D, found shape [2,2]");
  // 8-bit codes relabelled as 4-bit weights: stored values above 15 are out of range.
  EXPECT_TRUE(contains(edited([](json& h) { h["ops"][0]["weight"]["bits"] = 4; }),
                       "is out of range [0, 15] for 4-bit weights (/ops/0/weight/tensor)"));
}

TEST(BrokenModelFile, InconsistentModelsNameTheOp) {
  const Bytes file = valid_file();
  const auto edited = [&](const std::function<void(json&)>& edit) {
    return load_error(with_header(file, edit));
  };
  // Same element count, wrong geometry.
  EXPECT_EQ(
      edited([](json& h) {
        h["tensors"][0]["shape"] = {4, 2, 9, 1};
      }),
      "load_model: m.qgm: op 0 (conv2d) on input [2,9,9]: weight has shape [4,2,9,1] but expected [4,2,3,3] "
      "for 2 -> 4 channels, groups 1, kernel [3,3], stride [1,1], padding [1,1], dilation [1,1]");
  // A broken chain of shapes: the linear layer no longer matches what flatten produces.
  EXPECT_EQ(edited([](json& h) { h["ops"][6]["in_features"] = 63; }),
            "load_model: m.qgm: op 6 (linear) on input [64]: input has 64 features but the layer expects 63 "
            "(input [64], weight [5,64])");
  // A smaller input image: every op still fits, until the linear layer sees 4 x 3 x 3 features.
  EXPECT_TRUE(contains(edited([](json& h) {
                         h["input"]["shape"] = {2, 4, 4};
                       }),
                       "op 6 (linear) on input [36]: input has 36 features but the layer expects 64"));
  EXPECT_TRUE(
      contains(edited([](json& h) { h["ops"][0]["output_stage"]["multipliers"][0][0] = 1234567890; }),
               "op 0 (conv2d) on input [2,9,9]: output stage: multiplier 0: fixed-point form {1234567890"));
  EXPECT_TRUE(contains(edited([](json& h) { h["output"]["quant"]["zero_point"] = 3; }),
                       "load_model: m.qgm: output: dequantization uses"));
}

// Random damage with a fresh checksum (so that it reaches the parser and the validation): every result
// is either a valid model or a ModelFileError, never another exception or a crash.
TEST(BrokenModelFile, RandomDamageIsAlwaysReportedCleanly) {
  const Bytes file = valid_file();
  std::mt19937 rng(37);
  std::uniform_int_distribution<size_t> position(0, file.size() - 5);
  std::uniform_int_distribution<int> byte(0, 255);
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    Bytes bad = file;
    const int edits = 1 + i % 3;
    for (int e = 0; e < edits; ++e)
      bad[position(rng)] = static_cast<uint8_t>(byte(rng));
    bad = with_fresh_checksum(bad);
    try {
      deserialize_model(bad, "fuzz");
    } catch (const ModelFileError&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL() << "edit " << i << " escaped as " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace qg::runtime
