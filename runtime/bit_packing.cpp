#include "runtime/bit_packing.h"

#include <cassert>

#include "util/binary_io.h"

namespace qg::runtime {

int64_t packed_size(int64_t count, int bits) {
  return (count * bits + 7) / 8;
}

void pack_codes(std::span<const int16_t> codes, int bits, bool is_signed, std::vector<uint8_t>& out) {
  assert(bits >= 1 && bits <= 8);
  const uint32_t mask = (1u << bits) - 1u;
  const size_t start = out.size();
  out.resize(start + static_cast<size_t>(packed_size(static_cast<int64_t>(codes.size()), bits)), 0);
  uint64_t bit = 0;
  for (const int16_t code : codes) {
    // Two's complement truncated to `bits` bits; for unsigned codes this is the code itself. A binary code
    // (signed 1-bit, -1 or +1) is stored as its sign bit the other way round: 1 for +1, 0 for -1.
    const uint32_t field = bits == 1 && is_signed ? (code > 0 ? 1u : 0u)
                                                  : static_cast<uint32_t>(static_cast<int32_t>(code)) & mask;
    assert(is_signed || static_cast<uint32_t>(code) == field);
    // A field of <= 8 bits touches at most two bytes.
    const size_t byte = start + static_cast<size_t>(bit / 8);
    const unsigned shift = static_cast<unsigned>(bit % 8);
    out[byte] = static_cast<uint8_t>(out[byte] | (field << shift));
    if (shift + static_cast<unsigned>(bits) > 8) out[byte + 1] = static_cast<uint8_t>(field >> (8 - shift));
    bit += static_cast<uint64_t>(bits);
  }
}

bool unpack_codes(std::span<const uint8_t> bytes, int64_t count, int bits, bool is_signed,
                  std::vector<int16_t>& codes) {
  assert(bits >= 1 && bits <= 8);
  assert(static_cast<int64_t>(bytes.size()) == packed_size(count, bits));
  const uint32_t mask = (1u << bits) - 1u;
  const uint32_t sign = 1u << (bits - 1);
  codes.resize(static_cast<size_t>(count));
  uint64_t bit = 0;
  for (int64_t i = 0; i < count; ++i) {
    const size_t byte = static_cast<size_t>(bit / 8);
    const unsigned shift = static_cast<unsigned>(bit % 8);
    uint32_t field = static_cast<uint32_t>(bytes[byte]) >> shift;
    if (shift + static_cast<unsigned>(bits) > 8)
      field |= static_cast<uint32_t>(bytes[byte + 1]) << (8 - shift);
    field &= mask;
    // Sign-extend a b-bit two's complement field: subtract 2^b when its top bit is set. Binary: 1 -> +1, 0 -> -1.
    const int32_t value = bits == 1 && is_signed ? (field ? 1 : -1)
                          : is_signed && (field & sign)
                              ? static_cast<int32_t>(field) - static_cast<int32_t>(mask + 1)
                              : static_cast<int32_t>(field);
    codes[static_cast<size_t>(i)] = static_cast<int16_t>(value);
    bit += static_cast<uint64_t>(bits);
  }
  const unsigned used = static_cast<unsigned>(bit % 8);  // bits used in the last byte (0 = all 8)
  return used == 0 || (bytes.back() >> used) == 0;
}

void pack_int32_le(std::span<const int32_t> values, std::vector<uint8_t>& out) {
  for (const int32_t v : values)
    util::append_le<uint32_t>(out, static_cast<uint32_t>(v));
}

std::vector<int32_t> unpack_int32_le(std::span<const uint8_t> bytes) {
  assert(bytes.size() % 4 == 0);
  std::vector<int32_t> values(bytes.size() / 4);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<int32_t>(util::read_le<uint32_t>(bytes, 4 * i));
  }
  return values;
}

}  // namespace qg::runtime
