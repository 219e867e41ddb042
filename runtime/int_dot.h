// The inner loop of the fast conv and linear kernels: an int16 x int16 -> int32 dot product.
//
// Written as a plain loop on purpose: GCC and Clang turn this widening multiply-accumulate into
// SIMD multiply-add instructions (SSE2 pmaddwd, AVX2 vpmaddwd, NEON smlal) at -O3. Callers guarantee
// (through check_accumulator_bound at model validation) that no partial sum can overflow int32.
#pragma once

#include <cstdint>

namespace qg::runtime {

inline int32_t dot_int16(const int16_t* a, const int16_t* b, int64_t n) {
  int32_t sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += int32_t{a[i]} * int32_t{b[i]};
  return sum;
}

}  // namespace qg::runtime
