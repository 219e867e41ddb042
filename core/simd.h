// QG_SIMD_CLONES: compile a hot loop for several x86 instruction sets and pick one at run time.
//
// The default build targets any x86-64 CPU (SSE2). A function marked QG_SIMD_CLONES is compiled three
// times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline, and the dynamic loader picks the
// best one for the CPU it runs on (GCC's target_clones, resolved once through an ifunc). Only plain loops
// that GCC vectorises by itself are marked; results may differ in the last bits between the clones
// (fused multiply-add), which the float kernels' tests allow for. On other compilers and architectures
// the macro is empty and the baseline code runs.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define QG_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QG_SIMD_CLONES
#endif

#include <cstdint>
#include <cstring>

// GCC warns (-Wpsabi) that passing a Float8 by value has a different ABI with and without AVX. It never
// matters here: Float8 values only travel between always-inlined helpers inside one function. The warning
// is silenced for the rest of every file that includes this header (kernel files only).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace qg::simd {

/// Eight floats as one GCC vector: arithmetic on it is element-wise, and each QG_SIMD_CLONES clone compiles
/// it to what its instruction set has (one AVX register, or two SSE registers). For the few loops GCC does
/// not vectorise by itself: several independent sums at once.
using Float8 = float __attribute__((vector_size(32)));

[[gnu::always_inline]] inline Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);  // an unaligned vector load
  return v;
}

[[gnu::always_inline]] inline void store8(float* p, Float8 v) {
  std::memcpy(p, &v, sizeof v);
}

/// Calls block(i) for blocks of V items covering [0, width) (width >= V); the last block overlaps the one
/// before it when V does not divide width, so there is no scalar tail (a block must be safe to redo).
template <int V, class Block>
[[gnu::always_inline]] inline void cover_row(int64_t width, Block block) {
  int64_t i = 0;
  for (; i + V <= width; i += V)
    block(i);
  if (i < width) block(width - V);
}

/// p[0] + ... + p[n-1] with eight float partial sums (vectorised; no loop-carried dependency on one
/// register), returned in double. The order of the additions is fixed by the code, so every clone adds in
/// the same order. Defined in core/simd.cpp.
double plane_sum(const float* p, int64_t n);

/// v[0] + v[1] + ... + v[7], in that order.
[[gnu::always_inline]] inline float sum8(Float8 v) {
  float total = 0.0f;
  for (int i = 0; i < 8; ++i)
    total += v[i];
  return total;
}

}  // namespace qg::simd
