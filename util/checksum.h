// FNV-1a, 64-bit: a small, dependency-free checksum for our file formats. It detects corruption
// (flipped or truncated bytes), not tampering.
#pragma once

#include <cstdint>
#include <string_view>

namespace qg::util {

inline uint64_t fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace qg::util
