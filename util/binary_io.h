// Little-endian integers in byte buffers, for the fixed parts of our binary files (independent of the host's
// byte order). A buffer is a std::vector<uint8_t> or a std::string.
#pragma once

#include <cassert>
#include <cstdint>
#include <span>
#include <string_view>

namespace qg::util {

/// The bytes of a string, as unsigned bytes.
inline std::span<const uint8_t> byte_span(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

/// Appends the sizeof(T) little-endian bytes of `value` to `out`.
template <class T, class Bytes>
void append_le(Bytes& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<typename Bytes::value_type>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff));
}

/// The little-endian T at `offset`; bytes [offset, offset + sizeof(T)) must lie inside `bytes`.
template <class T>
T read_le(std::span<const uint8_t> bytes, size_t offset) {
  assert(offset + sizeof(T) <= bytes.size());
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<uint64_t>(bytes[offset + i]) << (8 * i);
  return static_cast<T>(value);
}

template <class T>
T read_le(std::string_view bytes, size_t offset) {
  return read_le<T>(byte_span(bytes), offset);
}

}  // namespace qg::util
