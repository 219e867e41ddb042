#include "datasets/idx.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <stdexcept>
#include <string>

#include "allocation_probe.h"
#include "test_files.h"

namespace qg::data {
namespace {

using testing::Bytes;
using testing::idx_bytes;
using testing::kImagesMagic;
using testing::kLabelsMagic;
using testing::pattern_bytes;
using testing::TempDir;
using testing::write_file;
using testing::write_idx_file;

// The message of the std::runtime_error thrown by read_idx, or a test failure if none is thrown.
std::string read_error(const std::string& path, IdxKind kind, const std::string& who = "idx") {
  try {
    read_idx(path, kind, who);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "read_idx(" << path << ") did not throw";
  return "";
}

void expect_contains(const std::string& message, std::initializer_list<std::string> parts) {
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "message: " << message << "\nmissing: " << part;
  }
}

// ---- well-formed files, plain and gzip ----------------------------------------------------------

class IdxEncoding : public ::testing::TestWithParam<bool> {
 protected:
  bool gzip() const { return GetParam(); }
  TempDir dir;
};

TEST_P(IdxEncoding, ReadsImagesBack) {
  const Bytes pixels = pattern_bytes(3 * 4 * 5);
  write_idx_file(dir.file("images"), idx_bytes(kImagesMagic, {3, 4, 5}, pixels), gzip());
  const IdxArray array = read_idx(dir.file("images"), IdxKind::kImages);
  EXPECT_EQ(array.dims, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(array.data, pixels);
}

TEST_P(IdxEncoding, ReadsLabelsBack) {
  const Bytes labels = pattern_bytes(7, /*salt=*/1, /*modulus=*/10);
  write_idx_file(dir.file("labels"), idx_bytes(kLabelsMagic, {7}, labels), gzip());
  const IdxArray array = read_idx(dir.file("labels"), IdxKind::kLabels);
  EXPECT_EQ(array.dims, (std::vector<int64_t>{7}));
  EXPECT_EQ(array.data, labels);
}

TEST_P(IdxEncoding, ReadsPayloadLargerThanOneDecompressionChunk) {
  // 2.4 MB: the gzip path decompresses in 1 MiB chunks and must reassemble them in order.
  const Bytes pixels = pattern_bytes(3000 * 28 * 28, /*salt=*/5);
  write_idx_file(dir.file("images"), idx_bytes(kImagesMagic, {3000, 28, 28}, pixels), gzip());
  const IdxArray array = read_idx(dir.file("images"), IdxKind::kImages);
  EXPECT_EQ(array.dims, (std::vector<int64_t>{3000, 28, 28}));
  EXPECT_TRUE(array.data == pixels);
}

TEST_P(IdxEncoding, TruncatedPayloadNamesPromisedAndPresentBytes) {
  Bytes bytes = idx_bytes(kImagesMagic, {3, 4, 5}, pattern_bytes(60));
  bytes.pop_back();
  write_idx_file(dir.file("images"), bytes, gzip());
  const std::string message = read_error(dir.file("images"), IdxKind::kImages);
  expect_contains(message,
                  {dir.file("images"), "truncated: header promises 60 bytes of pixels after offset 16",
                   gzip() ? "gzip stream holds 59" : "file has 59"});
}

TEST_P(IdxEncoding, TruncatedLabels) {
  write_idx_file(dir.file("labels"), idx_bytes(kLabelsMagic, {10}, pattern_bytes(4, 0, 10)), gzip());
  expect_contains(read_error(dir.file("labels"), IdxKind::kLabels),
                  {"truncated: header promises 10 bytes of labels after offset 8"});
}

TEST_P(IdxEncoding, TrailingBytesAreAnError) {
  Bytes bytes = idx_bytes(kLabelsMagic, {4}, pattern_bytes(4, 0, 10));
  bytes.insert(bytes.end(), {1, 2, 3});
  write_idx_file(dir.file("labels"), bytes, gzip());
  expect_contains(read_error(dir.file("labels"), IdxKind::kLabels),
                  {"trailing data: header promises 4 bytes of labels after offset 8",
                   "3 unexpected bytes more, from offset 12"});
}

TEST_P(IdxEncoding, ShortHeaderNamesTheMissingField) {
  Bytes bytes = idx_bytes(kImagesMagic, {3});
  bytes.insert(bytes.end(), {0, 0});  // half of the rows field
  write_idx_file(dir.file("images"), bytes, gzip());
  expect_contains(
      read_error(dir.file("images"), IdxKind::kImages),
      {"short header: expected dimension 1 (rows) as 4 bytes at offset 8", "data ends after 10 bytes"});
}

TEST_P(IdxEncoding, HeaderClaimingTwoBillionImagesFailsWithoutAllocatingThem) {
  // 2^31 images of 1x1 pixel: 2 GiB promised, under the reader's limit, but the file has 3 bytes.
  write_idx_file(dir.file("images"), idx_bytes(kImagesMagic, {1u << 31, 1, 1}, {1, 2, 3}), gzip());
  testing::reset_largest_allocation();
  const std::string message = read_error(dir.file("images"), IdxKind::kImages);
  EXPECT_LT(testing::largest_allocation(), size_t{4} << 20)
      << "the reader allocated what the header promised";
  expect_contains(message, {"truncated: header promises 2147483648 bytes of pixels after offset 16"});
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, IdxEncoding, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Gzip" : "Plain";
                         });

// ---- the file itself ----------------------------------------------------------------------------

TEST(Idx, GzipIsRecognisedByMagicBytesNotByName) {
  TempDir dir;
  const Bytes labels = pattern_bytes(5, 2, 10);
  testing::write_gzip_file(dir.file("labels-no-suffix"), idx_bytes(kLabelsMagic, {5}, labels));
  write_file(dir.file("labels-plain.gz"), idx_bytes(kLabelsMagic, {5}, labels));
  EXPECT_EQ(read_idx(dir.file("labels-no-suffix"), IdxKind::kLabels).data, labels);
  EXPECT_EQ(read_idx(dir.file("labels-plain.gz"), IdxKind::kLabels).data, labels);
}

TEST(Idx, MissingFile) {
  TempDir dir;
  expect_contains(read_error(dir.file("nothing-here"), IdxKind::kLabels, "mnist"),
                  {"mnist: " + dir.file("nothing-here") + ": no such file"});
}

TEST(Idx, DirectoryIsNotAFile) {
  TempDir dir;
  expect_contains(read_error(dir.path().string(), IdxKind::kLabels), {"not a regular file"});
}

TEST(Idx, EmptyFile) {
  TempDir dir;
  write_file(dir.file("empty"), {});
  expect_contains(read_error(dir.file("empty"), IdxKind::kImages), {dir.file("empty") + ": empty file"});
}

TEST(Idx, ShortMagic) {
  TempDir dir;
  write_file(dir.file("short"), {0, 0});
  expect_contains(
      read_error(dir.file("short"), IdxKind::kImages),
      {"short header: expected the magic number as 4 bytes at offset 0", "data ends after 2 bytes"});
}

// ---- the magic number ---------------------------------------------------------------------------

TEST(Idx, LabelsFileGivenAsImagesSaysSo) {
  TempDir dir;
  write_file(dir.file("labels"), idx_bytes(kLabelsMagic, {2}, {1, 2}));
  EXPECT_EQ(read_error(dir.file("labels"), IdxKind::kImages, "mnist"),
            "mnist: " + dir.file("labels") +
                ": expected magic 0x00000803, found 0x00000801 (is this a labels file?)");
}

TEST(Idx, ImagesFileGivenAsLabelsSaysSo) {
  TempDir dir;
  write_file(dir.file("images"), idx_bytes(kImagesMagic, {1, 1, 1}, {7}));
  expect_contains(read_error(dir.file("images"), IdxKind::kLabels),
                  {"expected magic 0x00000801, found 0x00000803 (is this an images file?)"});
}

TEST(Idx, WrongTypeCode) {
  TempDir dir;
  write_file(dir.file("floats"), idx_bytes(0x00000D03, {1, 1, 1}, {0, 0, 0, 0}));
  expect_contains(read_error(dir.file("floats"), IdxKind::kImages),
                  {"expected type code 0x08 (unsigned byte) in byte 2 of the magic, found 0x0D (float)"});
}

TEST(Idx, WrongDimensionCount) {
  TempDir dir;
  write_file(dir.file("matrix"), idx_bytes(0x00000802, {2, 2}, {1, 2, 3, 4}));
  expect_contains(read_error(dir.file("matrix"), IdxKind::kImages),
                  {"expected magic 0x00000803, found 0x00000802 (2 dimensions instead of 3)"});
}

TEST(Idx, NotAnIdxFileAtAll) {
  TempDir dir;
  write_file(dir.file("picture.png"), {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  expect_contains(read_error(dir.file("picture.png"), IdxKind::kImages),
                  {"expected magic 0x00000803, found 0x89504E47: not an IDX file"});
}

// ---- dimensions ---------------------------------------------------------------------------------

TEST(Idx, ZeroDimensionIsRejected) {
  TempDir dir;
  write_file(dir.file("images"), idx_bytes(kImagesMagic, {4, 0, 28}));
  expect_contains(read_error(dir.file("images"), IdxKind::kImages),
                  {"dimension 1 (rows) at offset 8 is 0; expected at least 1"});
  write_file(dir.file("labels"), idx_bytes(kLabelsMagic, {0}));
  expect_contains(read_error(dir.file("labels"), IdxKind::kLabels),
                  {"dimension 0 (count) at offset 4 is 0; expected at least 1"});
}

TEST(Idx, PayloadOverTheLimitIsRejectedFromTheHeaderAlone) {
  TempDir dir;
  // 2^31 images of 28 rows are already 60 GB; the largest dimensions would overflow 64 bits if multiplied.
  write_file(dir.file("huge"), idx_bytes(kImagesMagic, {1u << 31, 28, 28}));
  expect_contains(read_error(dir.file("huge"), IdxKind::kImages),
                  {"dimension 1 (rows) at offset 8 is 28", "the reader's limit"});
  write_file(dir.file("overflow"), idx_bytes(kImagesMagic, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}));
  expect_contains(read_error(dir.file("overflow"), IdxKind::kImages),
                  {"dimension 1 (rows) at offset 8 is 4294967295", "the reader's limit"});
}

// ---- damaged gzip streams -----------------------------------------------------------------------

TEST(Idx, GzipCutInTheMiddleIsCorrupt) {
  TempDir dir;
  Bytes gz = testing::gzip_bytes(idx_bytes(kImagesMagic, {50, 10, 10}, pattern_bytes(5000)));
  gz.resize(gz.size() / 2);
  write_file(dir.file("cut.gz"), gz);
  expect_contains(read_error(dir.file("cut.gz"), IdxKind::kImages),
                  {dir.file("cut.gz"), "corrupt gzip stream after",
                   "(the compressed data ends in the middle of the stream)"});
}

TEST(Idx, GzipWithWrongChecksumIsCorrupt) {
  TempDir dir;
  Bytes gz = testing::gzip_bytes(idx_bytes(kLabelsMagic, {6}, {1, 2, 3, 4, 5, 6}));
  gz[gz.size() - 8] ^= 0xFF;  // the trailer is CRC-32 then ISIZE, 4 bytes each
  write_file(dir.file("crc.gz"), gz);
  expect_contains(read_error(dir.file("crc.gz"), IdxKind::kLabels),
                  {"corrupt gzip stream", "incorrect data check"});
}

TEST(Idx, GzipMembersAreConcatenated) {
  // RFC 1952: a gzip file may hold several members; their contents follow one another.
  TempDir dir;
  const Bytes whole = idx_bytes(kLabelsMagic, {6}, {1, 2, 3, 4, 5, 6});
  Bytes gz = testing::gzip_bytes(Bytes(whole.begin(), whole.begin() + 9));
  const Bytes second = testing::gzip_bytes(Bytes(whole.begin() + 9, whole.end()));
  gz.insert(gz.end(), second.begin(), second.end());
  write_file(dir.file("two-members.gz"), gz);
  EXPECT_EQ(read_idx(dir.file("two-members.gz"), IdxKind::kLabels).data, (Bytes{1, 2, 3, 4, 5, 6}));
}

TEST(Idx, BytesAfterTheGzipStreamAreAnError) {
  TempDir dir;
  Bytes gz = testing::gzip_bytes(idx_bytes(kLabelsMagic, {3}, {1, 2, 3}));
  const size_t stream_end = gz.size();
  gz.insert(gz.end(), {'j', 'u', 'n', 'k'});
  write_file(dir.file("junk.gz"), gz);
  expect_contains(
      read_error(dir.file("junk.gz"), IdxKind::kLabels),
      {"trailing data after the gzip stream, at compressed offset " + std::to_string(stream_end)});
}

TEST(Idx, GzipMagicFollowedByGarbageIsCorrupt) {
  TempDir dir;
  write_file(dir.file("garbage.gz"),
             {0x1f, 0x8b, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42});
  expect_contains(read_error(dir.file("garbage.gz"), IdxKind::kLabels), {"corrupt gzip stream"});
}

}  // namespace
}  // namespace qg::data
