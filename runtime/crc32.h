// CRC-32 (IEEE 802.3, the one of zip, PNG and zlib): the model file's checksum.
//
// Reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF, table-driven one byte at a
// time. It detects every burst error up to 32 bits long (in particular any changed byte) and is easy to
// recompute with any other tool: zlib.crc32(bytes) in Python gives the same number.
#pragma once

#include <cstdint>
#include <span>

namespace qg::runtime {

/// CRC-32 of `bytes`. To checksum in pieces, pass the previous result as `crc`:
/// crc32(b) == crc32(b2, crc32(b1)) for b = b1 followed by b2.
uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace qg::runtime
