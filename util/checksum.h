// Checksums: detect corruption (flipped, missing or extra bytes), not tampering.
//
// * CRC-32 (IEEE 802.3, the one of zip, PNG and zlib): the checksum of our file container
//   (util/container.h). Reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF,
//   table-driven one byte at a time. It detects every burst error up to 32 bits long (in particular any
//   changed byte) and is easy to recompute with any other tool: zlib.crc32(bytes) in Python gives the same
//   number.
// * FNV-1a, 64-bit: the checksum of version-1 checkpoints (read, no longer written), and a digest tests use
//   to pin results.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace qg::util {

/// CRC-32 of `bytes`. To checksum in pieces, pass the previous result as `crc`:
/// crc32(b) == crc32(b2, crc32(b1)) for b = b1 followed by b2.
uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

inline uint64_t fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace qg::util
