#include "util/container.h"

#include <algorithm>
#include <cstdio>

#include "util/binary_io.h"
#include "util/checksum.h"

namespace qg::util {

namespace {

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// The magic as a C string literal's contents: "QGMODEL\0".
std::string magic_text(const std::array<uint8_t, 8>& magic) {
  std::string text;
  for (const uint8_t byte : magic) {
    if (byte >= 0x20 && byte < 0x7f && byte != '\\' && byte != '"') {
      text += static_cast<char>(byte);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\%o", byte);
      text += escaped;
    }
  }
  return text;
}

}  // namespace

std::vector<uint8_t> write_container(const ContainerFormat& format, uint32_t version, std::string_view header,
                                     std::span<const uint8_t> data) {
  std::vector<uint8_t> bytes(format.magic.begin(), format.magic.end());
  bytes.reserve(kContainerPrefixSize + header.size() + data.size() + kContainerChecksumSize);
  append_le<uint32_t>(bytes, version);
  append_le<uint32_t>(bytes, 0);  // reserved
  append_le<uint64_t>(bytes, header.size());
  append_le<uint64_t>(bytes, data.size());
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  append_le<uint32_t>(bytes, crc32(bytes));
  return bytes;
}

nlohmann::json parse_header_json(std::string_view text) {
  const auto limit_depth = [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxHeaderNesting) {
      throw ContainerError("nesting deeper than " + std::to_string(kMaxHeaderNesting) + " levels");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, limit_depth);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number beyond a double (1e999)
    throw ContainerError(std::string("header JSON is malformed: ") + e.what());
  } catch (const ContainerError& e) {
    throw ContainerError(std::string("header JSON is malformed: ") + e.what());
  }
}

Container read_container(std::span<const uint8_t> bytes, const ContainerFormat& format) {
  const uint64_t size = bytes.size();
  if (size >= format.magic.size() && !std::equal(format.magic.begin(), format.magic.end(), bytes.begin())) {
    throw ContainerError("bad magic at offset 0: expected \"" + magic_text(format.magic) +
                         "\", this is not a quantgrad " + std::string(format.kind));
  }
  const uint64_t fixed = kContainerPrefixSize + kContainerChecksumSize;
  if (size < fixed) {
    throw ContainerError("truncated: the file has " + std::to_string(size) + " bytes, fewer than the " +
                         std::to_string(fixed) + " of the fixed header and checksum");
  }
  Container container;
  container.version = read_le<uint32_t>(bytes, 8);
  if (container.version < format.oldest_version || container.version > format.newest_version) {
    throw ContainerError("unsupported format version " + std::to_string(container.version) +
                         " at offset 8 (this build reads versions " + std::to_string(format.oldest_version) +
                         " to " + std::to_string(format.newest_version) + ")");
  }
  const uint32_t reserved = read_le<uint32_t>(bytes, 12);
  if (reserved != 0) {
    throw ContainerError("reserved field at offset 12 must be 0, found " + std::to_string(reserved));
  }
  const uint64_t header_size = read_le<uint64_t>(bytes, 16);
  const uint64_t data_size = read_le<uint64_t>(bytes, 24);
  // Compared piecewise so that lying sizes near 2^64 cannot wrap around.
  const bool fits = header_size <= size - fixed && data_size <= size - fixed - header_size;
  const std::string declared = "the header at offset 16 declares " + std::to_string(header_size) +
                               " bytes of JSON and " + std::to_string(data_size) + " bytes of tensor data";
  if (!fits) {
    throw ContainerError("truncated: " + declared + ", more than the file's " + std::to_string(size) +
                         " bytes can hold");
  }
  const uint64_t expected = fixed + header_size + data_size;
  if (expected != size) {
    throw ContainerError("unexpected " + std::to_string(size - expected) + " trailing bytes after offset " +
                         std::to_string(expected) + ": " + declared);
  }
  const size_t body = kContainerPrefixSize + header_size + data_size;
  const uint32_t stored = read_le<uint32_t>(bytes, body);
  const uint32_t computed = crc32(bytes.first(body));
  if (stored != computed) {
    throw ContainerError("checksum mismatch: the CRC-32 stored at offset " + std::to_string(body) + " is " +
                         hex32(stored) + " but the contents give " + hex32(computed) +
                         " (the file is corrupt)");
  }
  container.header = parse_header_json(
      std::string_view(reinterpret_cast<const char*>(bytes.data()) + kContainerPrefixSize, header_size));
  container.data = bytes.subspan(kContainerPrefixSize + header_size, data_size);
  return container;
}

}  // namespace qg::util
