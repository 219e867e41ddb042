// Bit packing: storing integer codes of 1..8 bits back to back, and little-endian int32s.
//
// Codes are written as one bit stream, least significant bit first: code i occupies stream bits
// [i*b, (i+1)*b), and stream bit j is bit (j mod 8) of byte j / 8. So 4-bit codes go two per byte
// (code 0 in the low nibble), 8-bit codes one per byte, and 3-bit codes straddle bytes. Signed codes
// are stored as their b-bit two's complement (an 8-bit signed code is an int8 byte), except binary codes
// (signed 1-bit, -1 or +1), stored as one bit that is 1 for +1. The unused high
// bits of the last byte are zero. n codes take ceil(n * b / 8) bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace qg::runtime {

/// Bytes needed for `count` codes of `bits` bits.
int64_t packed_size(int64_t count, int bits);

/// Appends `codes` packed at `bits` bits to `out`. Every code must already be in the (bits, is_signed) range.
void pack_codes(std::span<const int16_t> codes, int bits, bool is_signed, std::vector<uint8_t>& out);

/// Reads `count` codes of `bits` bits from exactly packed_size(count, bits) bytes. Returns false (and
/// leaves `codes` unspecified) when the unused bits of the last byte are not zero.
bool unpack_codes(std::span<const uint8_t> bytes, int64_t count, int bits, bool is_signed,
                  std::vector<int16_t>& codes);

/// Appends each value as 4 little-endian bytes.
void pack_int32_le(std::span<const int32_t> values, std::vector<uint8_t>& out);

/// Reads bytes.size() / 4 little-endian int32s (bytes.size() must be a multiple of 4).
std::vector<int32_t> unpack_int32_le(std::span<const uint8_t> bytes);

}  // namespace qg::runtime
