#include "util/checksum.h"

#include <array>

namespace qg::util {

namespace {

// table[b] = the CRC register after shifting byte b through the polynomial eight times.
constexpr std::array<uint32_t, 256> make_crc32_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t r = b;
    for (int bit = 0; bit < 8; ++bit)
      r = (r & 1u) ? (r >> 1) ^ 0xEDB88320u : r >> 1;
    table[b] = r;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrc32Table = make_crc32_table();

}  // namespace

uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc) {
  uint32_t r = ~crc;
  for (const uint8_t byte : bytes)
    r = kCrc32Table[(r ^ byte) & 0xFFu] ^ (r >> 8);
  return ~r;
}

}  // namespace qg::util
