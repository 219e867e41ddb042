// The file container (util/container.h): what it writes, and every check of read_container with its message.
#include "util/container.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "util/binary_io.h"
#include "util/checksum.h"

namespace qg::util {
namespace {

constexpr ContainerFormat kFormat{{'Q', 'G', 'T', 'E', 'S', 'T', '\0', '\1'}, "test file", 1, 3};

std::vector<uint8_t> sample(uint32_t version = 2) {
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5};
  return write_container(kFormat, version, R"({"a": [1, 2]})", data);
}

std::string read_error(const std::vector<uint8_t>& bytes) {
  try {
    read_container(bytes, kFormat);
  } catch (const ContainerError& e) {
    return e.what();
  }
  return "(no error)";
}

// After an edit of the bytes before it, the trailing CRC-32 made right again.
std::vector<uint8_t> with_fresh_checksum(std::vector<uint8_t> bytes) {
  if (bytes.size() < kContainerChecksumSize)
    throw std::logic_error("with_fresh_checksum: no checksum to replace");
  bytes.resize(bytes.size() - kContainerChecksumSize);
  append_le<uint32_t>(bytes, crc32(bytes));
  return bytes;
}

TEST(Crc32, StandardCheckValueAndIncrementalUse) {
  const std::string text = "123456789";
  EXPECT_EQ(crc32(byte_span(text)), 0xCBF43926u);  // the published check value of CRC-32/IEEE
  EXPECT_EQ(crc32(std::span<const uint8_t>{}), 0u);
  EXPECT_EQ(crc32(byte_span(text).subspan(4), crc32(byte_span(text).first(4))), 0xCBF43926u);
}

TEST(Container, LayoutIsThePrefixTheHeaderTheDataAndTheCrc) {
  const std::vector<uint8_t> bytes = sample();
  const std::string header = R"({"a": [1, 2]})";
  ASSERT_EQ(bytes.size(), 36 + header.size() + 5);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), std::string("QGTEST\0\1", 8));
  EXPECT_EQ(read_le<uint32_t>(bytes, 8), 2u);
  EXPECT_EQ(read_le<uint32_t>(bytes, 12), 0u);
  EXPECT_EQ(read_le<uint64_t>(bytes, 16), header.size());
  EXPECT_EQ(read_le<uint64_t>(bytes, 24), 5u);
  EXPECT_EQ(std::string(bytes.begin() + 32, bytes.begin() + 32 + static_cast<int64_t>(header.size())),
            header);
  const size_t body = bytes.size() - 4;
  EXPECT_EQ(read_le<uint32_t>(bytes, body), crc32(std::span(bytes).first(body)));

  const Container c = read_container(bytes, kFormat);
  EXPECT_EQ(c.version, 2u);
  EXPECT_EQ(c.header, nlohmann::json::parse(header));
  EXPECT_EQ(std::vector<uint8_t>(c.data.begin(), c.data.end()), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
}

TEST(Container, EveryCheckHasItsMessage) {
  std::vector<uint8_t> bytes = sample();
  bytes[2] = 'X';
  EXPECT_EQ(read_error(bytes),
            "bad magic at offset 0: expected \"QGTEST\\0\\1\", this is not a quantgrad test file");
  const std::vector<uint8_t> whole = sample();
  EXPECT_EQ(read_error(std::vector<uint8_t>(whole.begin(), whole.begin() + 20)),
            "truncated: the file has 20 bytes, fewer than the 36 of the fixed header and checksum");
  EXPECT_EQ(read_error(sample(4)),
            "unsupported format version 4 at offset 8 (this build reads versions 1 to 3)");
  EXPECT_EQ(read_error(sample(0)),
            "unsupported format version 0 at offset 8 (this build reads versions 1 to 3)");
  bytes = sample();
  bytes[12] = 1;
  EXPECT_EQ(read_error(bytes), "reserved field at offset 12 must be 0, found 1");
  bytes = sample();
  bytes[24] = 200;  // D
  EXPECT_EQ(read_error(bytes).rfind(
                "truncated: the header at offset 16 declares 13 bytes of JSON and 200 bytes", 0),
            0u)
      << read_error(bytes);
  bytes = sample();
  bytes.insert(bytes.end() - 4, 9);
  EXPECT_EQ(read_error(bytes).rfind("unexpected 1 trailing bytes after offset 54", 0), 0u)
      << read_error(bytes);
  bytes = sample();
  bytes[33] ^= 1;
  EXPECT_EQ(read_error(bytes).rfind("checksum mismatch: the CRC-32 stored at offset 50 is 0x", 0), 0u)
      << read_error(bytes);
  EXPECT_EQ(read_error(with_fresh_checksum(bytes)).rfind("header JSON is malformed: ", 0), 0u);
}

TEST(Container, RefusesDeepNestingBeforeBuildingIt) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string ok = std::string(kMaxHeaderNesting, '[') + std::string(kMaxHeaderNesting, ']');
  EXPECT_NO_THROW(read_container(write_container(kFormat, 1, ok, {}), kFormat));
  EXPECT_EQ(read_error(write_container(kFormat, 1, deep, {})),
            "header JSON is malformed: nesting deeper than 64 levels");
}

}  // namespace
}  // namespace qg::util
