#include "runtime/ops/int8_kernels.h"

#include "runtime/ops/simd_clones.h"
#include "runtime/requantize.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QG_X86_KERNELS 1
// GCC 12's AVX-512 intrinsic headers pass an undefined vector as the unused merge operand of unmasked
// operations, which -Wmaybe-uninitialized reports inside the header (and -Wuninitialized too, at -O1 as the
// sanitizer build compiles, where requantize_rows inlines the stage); the values are never read.
#if !defined(__clang__)  // Clang has no -Wmaybe-uninitialized, and its headers need neither
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#endif

namespace qg::runtime::int8 {

namespace {

// ---- portable: int16 pairs, plain loops (GCC vectorises the loop over positions) ----------------------

int32_t low_half(uint32_t word) {
  return static_cast<int16_t>(word & 0xFFFFu);
}
int32_t high_half(uint32_t word) {
  return static_cast<int16_t>(word >> 16);
}

void dot_panel_portable(const uint32_t* const* a_rows, int64_t words, const uint32_t* weights,
                        int64_t channels, int64_t positions, int32_t* d, int64_t ldd) {
  for (int64_t c = 0; c < channels; ++c) {
    int32_t* row = d + c * ldd;
    std::memset(row, 0, static_cast<size_t>(positions) * sizeof(int32_t));
    for (int64_t w = 0; w < words; ++w) {
      const uint32_t weight = weights[c * words + w];
      const int32_t w0 = low_half(weight), w1 = high_half(weight);
      const uint32_t* a = a_rows[w];
      for (int64_t q = 0; q < positions; ++q)
        row[q] += low_half(a[q]) * w0 + high_half(a[q]) * w1;
    }
  }
}

#if QG_X86_KERNELS

// ---- AVX2: int16 pairs, vpmaddwd; blocks of CB channels x PB vectors of 8 positions ------------------

template <int CB, int PB>
__attribute__((target("avx2"))) void avx2_block(const uint32_t* const* a_rows, int64_t words,
                                                const uint32_t* weights, int64_t q0, int32_t* d,
                                                int64_t ldd) {
  __m256i acc[CB][PB];
  for (int c = 0; c < CB; ++c)
    for (int p = 0; p < PB; ++p)
      acc[c][p] = _mm256_setzero_si256();
  for (int64_t w = 0; w < words; ++w) {
    const uint32_t* a = a_rows[w] + q0;
    __m256i av[PB];
    for (int p = 0; p < PB; ++p)
      av[p] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 8 * p));
    for (int c = 0; c < CB; ++c) {
      const __m256i wv = _mm256_set1_epi32(static_cast<int>(weights[c * words + w]));
      for (int p = 0; p < PB; ++p)
        acc[c][p] = _mm256_add_epi32(acc[c][p], _mm256_madd_epi16(av[p], wv));
    }
  }
  for (int c = 0; c < CB; ++c)
    for (int p = 0; p < PB; ++p)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + c * ldd + q0 + 8 * p), acc[c][p]);
}

template <int CB>
__attribute__((target("avx2"))) void avx2_channels(const uint32_t* const* a_rows, int64_t words,
                                                   const uint32_t* weights, int64_t positions, int32_t* d,
                                                   int64_t ldd) {
  int64_t q = 0;
  for (; q + 16 <= positions; q += 16)
    avx2_block<CB, 2>(a_rows, words, weights, q, d, ldd);
}

__attribute__((target("avx2"))) void dot_panel_avx2(const uint32_t* const* a_rows, int64_t words,
                                                    const uint32_t* weights, int64_t channels,
                                                    int64_t positions, int32_t* d, int64_t ldd) {
  int64_t c = 0;
  for (; c + 4 <= channels; c += 4)
    avx2_channels<4>(a_rows, words, weights + c * words, positions, d + c * ldd, ldd);
  for (; c + 2 <= channels; c += 2)
    avx2_channels<2>(a_rows, words, weights + c * words, positions, d + c * ldd, ldd);
  for (; c < channels; ++c)
    avx2_channels<1>(a_rows, words, weights + c * words, positions, d + c * ldd, ldd);
}

// ---- AVX-512 VNNI: uint8 x int8 quads, vpdpbusd; blocks of CB channels x PB vectors of 16 positions ----

#define QG_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

template <int CB, int PB>
QG_VNNI_TARGET void vnni_block(const uint32_t* const* a_rows, int64_t words, const uint32_t* weights,
                               int64_t q0, int32_t* d, int64_t ldd) {
  __m512i acc[CB][PB];
  for (int c = 0; c < CB; ++c)
    for (int p = 0; p < PB; ++p)
      acc[c][p] = _mm512_setzero_si512();
  for (int64_t w = 0; w < words; ++w) {
    const uint32_t* a = a_rows[w] + q0;
    __m512i av[PB];
    for (int p = 0; p < PB; ++p)
      av[p] = _mm512_loadu_si512(a + 16 * p);
    for (int c = 0; c < CB; ++c) {
      const __m512i wv = _mm512_set1_epi32(static_cast<int>(weights[c * words + w]));
      for (int p = 0; p < PB; ++p)
        acc[c][p] = _mm512_dpbusd_epi32(acc[c][p], av[p], wv);
    }
  }
  for (int c = 0; c < CB; ++c)
    for (int p = 0; p < PB; ++p)
      _mm512_storeu_si512(d + c * ldd + q0 + 16 * p, acc[c][p]);
}

template <int CB>
QG_VNNI_TARGET void vnni_channels(const uint32_t* const* a_rows, int64_t words, const uint32_t* weights,
                                  int64_t positions, int32_t* d, int64_t ldd) {
  int64_t q = 0;
  for (; q + 64 <= positions; q += 64)
    vnni_block<CB, 4>(a_rows, words, weights, q, d, ldd);
  for (; q + 32 <= positions; q += 32)
    vnni_block<CB, 2>(a_rows, words, weights, q, d, ldd);
  for (; q + 16 <= positions; q += 16)
    vnni_block<CB, 1>(a_rows, words, weights, q, d, ldd);
}

QG_VNNI_TARGET void dot_panel_vnni(const uint32_t* const* a_rows, int64_t words, const uint32_t* weights,
                                   int64_t channels, int64_t positions, int32_t* d, int64_t ldd) {
  int64_t c = 0;
  for (; c + 4 <= channels; c += 4)
    vnni_channels<4>(a_rows, words, weights + c * words, positions, d + c * ldd, ldd);
  for (; c + 2 <= channels; c += 2)
    vnni_channels<2>(a_rows, words, weights + c * words, positions, d + c * ldd, ldd);
  for (; c < channels; ++c)
    vnni_channels<1>(a_rows, words, weights + c * words, positions, d + c * ldd, ldd);
}

#endif  // QG_X86_KERNELS

// QG_INT8_ISA=portable|avx2|avx512-vnni picks a version (if this CPU runs it), for benchmarks and tests.
Isa detect() {
  Isa best = Isa::Portable;
  if (isa_available(Isa::Avx512Vnni)) {
    best = Isa::Avx512Vnni;
  } else if (isa_available(Isa::Avx2)) {
    best = Isa::Avx2;
  }
  if (const char* forced = std::getenv("QG_INT8_ISA")) {
    for (const Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512Vnni}) {
      if (std::string(forced) == isa_name(isa) && isa_available(isa)) best = isa;
    }
  }
  return best;
}

}  // namespace

bool isa_available(Isa isa) {
#if QG_X86_KERNELS
  switch (isa) {
    case Isa::Portable:
      return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2");
    case Isa::Avx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == Isa::Portable;
#endif
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (const Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512Vnni}) {
    if (isa_available(isa)) isas.push_back(isa);
  }
  return isas;
}

Isa best_isa() {
  static const Isa best = detect();
  return best;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512Vnni:
      return "avx512-vnni";
    case Isa::Avx2:
      return "avx2";
    case Isa::Portable:
      return "portable";
  }
  return "?";
}

int k_per_word(Isa isa) {
  return isa == Isa::Avx512Vnni ? 4 : 2;
}

// The accumulator acc = d + offset * s + constant. It fits int32 (the model's accumulator bound), so the sum
// is computed in unsigned 32-bit arithmetic, where intermediate wrap-around is defined, and read as int32.
inline int32_t accumulator(int32_t d, int32_t s, uint32_t offset, uint32_t constant) {
  return static_cast<int32_t>(static_cast<uint32_t>(d) + offset * static_cast<uint32_t>(s) + constant);
}

namespace {

// The generic requantize_rows over one run of n positions: runtime/requantize.h's scalar requantize_to_code()
// per output, in a plain loop that GCC vectorises (the product of two int32 as int64 is one widening multiply
// per lane pair). kSums false: the offset is 0 and s is not read (conv2d_dot's layers whose codes fit around
// their zero point). Inlined into each instruction set's clone of requantize_run_generic.
template <bool kSums>
[[gnu::always_inline]] inline void requantize_run(const int32_t* d, const int32_t* s, uint32_t offset,
                                                  uint32_t constant, const QuantizedMultiplier& m,
                                                  int32_t zero, int32_t lo, int32_t hi, int32_t* out,
                                                  int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = requantize_to_code(accumulator(d[i], kSums ? s[i] : 0, offset, constant), m, zero, lo, hi);
}

QG_RUNTIME_CLONES void requantize_run_generic(const int32_t* d, const int32_t* s, int32_t weight_offset,
                                              int64_t constant, int32_t multiplier, int shift, int32_t zero,
                                              int32_t lo, int32_t hi, int32_t* out, int64_t n) {
  const auto offset = static_cast<uint32_t>(weight_offset);
  const auto constant32 = static_cast<uint32_t>(static_cast<int32_t>(constant));
  const QuantizedMultiplier m{multiplier, shift};
  if (weight_offset == 0) {
    requantize_run<false>(d, s, offset, constant32, m, zero, lo, hi, out, n);
  } else {
    requantize_run<true>(d, s, offset, constant32, m, zero, lo, hi, out, n);
  }
}

#if QG_X86_KERNELS

// The same with AVX-512 intrinsics, 16 outputs at a time: the 64-bit products of the even and of the odd
// int32 lanes (vpmuldq), rounded and shifted as 64-bit lanes, clamped, then put back together; the tail
// is masked. Clamping the scaled value to [lo - zero, hi - zero] before adding the zero point is the same
// as the reference's clamp to +-(2^31 - 1), add, clamp to [lo, hi] (that range lies inside +-(2^31 - 1)),
// and keeps the final 32-bit addition from overflowing.
//
// The rounding half away from zero of p / 2^s (s >= 1, h = 2^(s-1)) without taking |p| apart: an arithmetic
// shift floors, so floor((p + h) / 2^s) for p >= 0, and floor((p + h - 1) / 2^s) for p < 0, which equals
// -floor((-p + h) / 2^s) (for an integer a, ceil(a / 2^s) = floor((a + 2^s - 1) / 2^s), and 2^s - h = h).
// The -1 is p's sign word (p >> 63). |p| < 2^62 and h <= 2^61, so p + h - 1 does not overflow.
//
// Most layers (M < 1/2, s >= 32) take a shorter form, StageLanes::narrow: with s >= 32, |p| < 2^62 gives
// |round(p / 2^s)| <= 2^30, so no saturation happens and the code fits int32 before the clamp; the zero
// point rides in the rounding term (floor((p + h + z 2^s + sign) / 2^s) = round(p / 2^s) + z, exact while
// |z| 2^s <= 2^60), the odd lanes shift by s - 32 so that their code lands in the high half of the 64-bit
// lane, where the blend takes it (the high 32 bits of t >> (s - 32) are t >> s), and the clamp to [lo, hi]
// is one 32-bit min and max for all 16 lanes: 14 operations instead of 18.

// floor((acc_even * multiplier + rounding + sign) / 2^shift) in each 64-bit lane (acc_even: its low int32).
__attribute__((target("avx512f"))) __m512i rounded_lanes(__m512i acc, __m512i multiplier, __m512i rounding,
                                                         __m128i shift) {
  const __m512i product = _mm512_maskz_mul_epi32(__mmask8{0xFF}, acc, multiplier);  // even int32 of each lane
  const __m512i sign = _mm512_srai_epi64(product, 63);                              // 0 or -1
  return _mm512_sra_epi64(_mm512_add_epi64(_mm512_add_epi64(product, rounding), sign), shift);
}

// The broadcast constants of one channel's output stage, shared by the two kernels below.
struct StageLanes {
  __m512i half, m, smallest, largest, offset, constant, zero_point;
  __m128i count;
  bool narrow = false;                // the short form: s in [32, 44] and |zero| <= 2^16
  __m512i half_and_zero, lo32, hi32;  // narrow: h + zero 2^s; lo and hi in every int32 lane
  __m128i odd_count;                  // narrow: s - 32
};

__attribute__((target("avx512f"))) StageLanes stage_lanes(int32_t weight_offset, int64_t constant,
                                                          int32_t multiplier, int shift, int32_t zero,
                                                          int32_t lo, int32_t hi) {
  const int total_shift = 31 - shift;
  StageLanes k;
  k.half = _mm512_set1_epi64(int64_t{1} << (total_shift - 1));
  k.m = _mm512_set1_epi64(multiplier);
  k.smallest = _mm512_set1_epi64(int64_t{lo} - zero);
  k.largest = _mm512_set1_epi64(int64_t{hi} - zero);
  k.offset = _mm512_set1_epi32(weight_offset);
  k.constant = _mm512_set1_epi32(static_cast<int32_t>(constant));
  k.zero_point = _mm512_set1_epi32(zero);
  k.count = _mm_cvtsi32_si128(total_shift);
  k.narrow = total_shift >= 32 && total_shift <= 44 && std::abs(zero) <= (1 << 16);
  const int64_t half_and_zero =
      k.narrow ? (int64_t{1} << (total_shift - 1)) + int64_t{zero} * (int64_t{1} << total_shift) : 0;
  k.half_and_zero = _mm512_set1_epi64(half_and_zero);
  k.lo32 = _mm512_set1_epi32(lo);
  k.hi32 = _mm512_set1_epi32(hi);
  k.odd_count = _mm_cvtsi32_si128(k.narrow ? total_shift - 32 : 0);
  return k;
}

// The output codes of 16 int32 accumulators.
__attribute__((target("avx512f"))) __m512i output_codes(__m512i acc, const StageLanes& k) {
  const __m512i odd_acc = _mm512_srli_epi64(acc, 32);
  if (k.narrow) {
    const __m512i even = rounded_lanes(acc, k.m, k.half_and_zero, k.count);         // in the low halves
    const __m512i odd = rounded_lanes(odd_acc, k.m, k.half_and_zero, k.odd_count);  // in the high halves
    const __m512i codes = _mm512_mask_blend_epi32(__mmask16{0xAAAA}, even, odd);
    return _mm512_max_epi32(_mm512_min_epi32(codes, k.hi32), k.lo32);
  }
  const __m512i even =
      _mm512_max_epi64(_mm512_min_epi64(rounded_lanes(acc, k.m, k.half, k.count), k.largest), k.smallest);
  const __m512i odd =
      _mm512_max_epi64(_mm512_min_epi64(rounded_lanes(odd_acc, k.m, k.half, k.count), k.largest), k.smallest);
  const __m512i scaled = _mm512_mask_blend_epi32(__mmask16{0xAAAA}, even, _mm512_slli_epi64(odd, 32));
  return _mm512_add_epi32(scaled, k.zero_point);
}

// A mask of the first n of 16 lanes (none for n <= 0).
__mmask16 first_lanes(int64_t n) {
  return n >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << std::max<int64_t>(n, 0)) - 1);
}

// acc = d + offset * s + constant for the lanes in `mask` (0 elsewhere; masked lanes are not read), in
// wrapping int32 arithmetic (exact: the accumulator fits int32). kSums false: the offset is 0, s is not read.
template <bool kSums>
__attribute__((target("avx512f"))) __m512i accumulator_lanes(const int32_t* d, const int32_t* s,
                                                             __mmask16 mask, const StageLanes& k) {
  const __m512i dv = _mm512_maskz_loadu_epi32(mask, d);
  if constexpr (!kSums) return _mm512_add_epi32(dv, k.constant);
  const __m512i sv = _mm512_maskz_loadu_epi32(mask, s);
  return _mm512_add_epi32(_mm512_add_epi32(dv, _mm512_mullo_epi32(k.offset, sv)), k.constant);
}

// requantize_rows for Isa::Avx512Vnni, 16 outputs at a time, each row's tail masked; the constants are set up
// once. kSums false: weight_offset is 0 and s is not read.
template <bool kSums>
__attribute__((target("avx512f"))) void requantize_rows_avx512(const int32_t* d, const int32_t* s,
                                                               int64_t row, int32_t weight_offset,
                                                               int64_t constant, int32_t multiplier,
                                                               int shift, int32_t zero, int32_t lo,
                                                               int32_t hi, int64_t rows, int64_t columns,
                                                               int32_t* out) {
  const StageLanes k = stage_lanes(weight_offset, constant, multiplier, shift, zero, lo, hi);
  if constexpr (!kSums) s = d;  // never read; keeps the pointer arithmetic below on a real array
  for (int64_t i = 0; i < rows; ++i, d += row, s += row, out += columns) {
    for (int64_t j = 0; j < columns; j += 16) {
      const __mmask16 lanes = first_lanes(columns - j);
      _mm512_mask_storeu_epi32(out + j, lanes,
                               output_codes(accumulator_lanes<kSums>(d + j, s + j, lanes, k), k));
    }
  }
}

// What the fused pool takes the max of at 16 positions: the accumulators, or (kSums false: the offset is 0)
// the d alone, s not read.
template <bool kSums>
__attribute__((target("avx512f"))) __m512i pooled_lanes(const int32_t* d, const int32_t* s, __mmask16 mask,
                                                        const StageLanes& k) {
  if constexpr (kSums) return accumulator_lanes<true>(d, s, mask, k);
  return _mm512_maskz_loadu_epi32(mask, d);
}

// pool_accumulators and requantize_row in one pass, 16 pooled outputs at a time: the 32 accumulators of
// each of the two rows (two masked loads each), their row-wise max, the max of even and odd columns
// (one two-source permute each), then the output stage. The row tail is masked: no partial blocks.
// kSums false (weight_offset 0): the max of the d alone, s not read, and the constant added once to the
// pooled value; max(d) + c = max(d + c) because d and d + c (the accumulator) are both exact in int32, so
// adding c wraps nowhere and keeps the order.
template <bool kSums>
__attribute__((target("avx512f"))) void pool_requantize_avx512(const int32_t* d, const int32_t* s,
                                                               int32_t weight_offset, int64_t constant,
                                                               int64_t row, int64_t pooled_h,
                                                               int64_t pooled_w, int32_t multiplier,
                                                               int shift, int32_t zero, int32_t lo,
                                                               int32_t hi, int32_t* out) {
  const StageLanes k = stage_lanes(weight_offset, constant, multiplier, shift, zero, lo, hi);
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  if constexpr (!kSums) s = d;  // never read; keeps the pointer arithmetic below on a real array
  for (int64_t i = 0; i < pooled_h; ++i) {
    const int32_t *d0 = d + 2 * i * row, *d1 = d0 + row, *s0 = s + 2 * i * row, *s1 = s0 + row;
    for (int64_t j = 0; j < pooled_w; j += 16) {
      const int64_t columns = 2 * (pooled_w - j);  // accumulators left in this row
      const __mmask16 first = first_lanes(columns), second = first_lanes(columns - 16);
      const int64_t x = 2 * j;
      const __m512i low = _mm512_max_epi32(pooled_lanes<kSums>(d0 + x, s0 + x, first, k),
                                           pooled_lanes<kSums>(d1 + x, s1 + x, first, k));
      const __m512i high = _mm512_max_epi32(pooled_lanes<kSums>(d0 + x + 16, s0 + x + 16, second, k),
                                            pooled_lanes<kSums>(d1 + x + 16, s1 + x + 16, second, k));
      __m512i pooled = _mm512_max_epi32(_mm512_permutex2var_epi32(low, evens, high),
                                        _mm512_permutex2var_epi32(low, odds, high));
      if constexpr (!kSums) pooled = _mm512_add_epi32(pooled, k.constant);
      _mm512_mask_storeu_epi32(out + i * pooled_w + j, first_lanes(pooled_w - j), output_codes(pooled, k));
    }
  }
}

#endif  // QG_X86_KERNELS

}  // namespace

void requantize_rows(Isa isa, const int32_t* d, const int32_t* s, int64_t row, int32_t weight_offset,
                     int64_t constant, int32_t multiplier, int shift, int32_t zero, int32_t lo, int32_t hi,
                     int64_t rows, int64_t columns, int32_t* out, int32_t* span_codes) {
  assert(row >= columns);
#if QG_X86_KERNELS
  if (isa == Isa::Avx512Vnni) {
    if (weight_offset == 0) {
      requantize_rows_avx512<false>(d, s, row, weight_offset, constant, multiplier, shift, zero, lo, hi, rows,
                                    columns, out);
    } else {
      requantize_rows_avx512<true>(d, s, row, weight_offset, constant, multiplier, shift, zero, lo, hi, rows,
                                   columns, out);
    }
    return;
  }
#endif
  if (rows <= 1 || row == columns) {  // no gaps: one run, straight into out
    requantize_run_generic(d, s, weight_offset, constant, multiplier, shift, zero, lo, hi, out,
                           rows * columns);
    return;
  }
  // A loop per row would run GCC's vector code only over short runs (7 to 28 positions in MNIST-sized
  // models), mostly in its scalar remainder; one run over the whole span, gaps included, is faster (with
  // QG_INT8_ISA=avx2, 1 thread, per-row loops ran bench/suite/dwsep_bn at 9400 images/s against 11700,
  // bench/suite/strided at 14700 against 19500).
  assert(span_codes != nullptr);
  requantize_run_generic(d, s, weight_offset, constant, multiplier, shift, zero, lo, hi, span_codes,
                         (rows - 1) * row + columns);
  rows_from_span(span_codes, row, rows, columns, out);
}

void rows_from_span(const int32_t* span, int64_t row, int64_t rows, int64_t columns, int32_t* out) {
  assert(row >= columns);
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(out + i * columns, span + i * row, static_cast<size_t>(columns) * sizeof(int32_t));
}

void requantize_row(Isa isa, const int32_t* d, const int32_t* s, int32_t weight_offset, int64_t constant,
                    int32_t multiplier, int shift, int32_t zero, int32_t lo, int32_t hi, int32_t* out,
                    int64_t n) {
  requantize_rows(isa, d, s, n, weight_offset, constant, multiplier, shift, zero, lo, hi, 1, n, out, nullptr);
}

QG_RUNTIME_CLONES void interleave_words(Isa isa, const int32_t* const* sources, int64_t n, uint32_t* dst) {
  // Values are in [0, 255]: shifting them into place is the packing.
  if (isa == Isa::Avx512Vnni) {
    const int32_t *s0 = sources[0], *s1 = sources[1], *s2 = sources[2], *s3 = sources[3];
    for (int64_t q = 0; q < n; ++q)
      dst[q] = static_cast<uint32_t>(s0[q] | s1[q] << 8 | s2[q] << 16 | s3[q] << 24);
  } else {
    const int32_t *s0 = sources[0], *s1 = sources[1];
    for (int64_t q = 0; q < n; ++q)
      dst[q] = static_cast<uint32_t>(s0[q] | s1[q] << 16);
  }
}

namespace {

// One row of gather_words in the generic version: a pass per channel, each a loop GCC vectorises (for a
// column step known at compile time, kStep > 0, including the stride-2 gather).
template <int64_t kStep>
[[gnu::always_inline]] inline void gather_row(const int32_t* const* sources, int channels, int bits,
                                              int32_t qmin, int64_t offset, int64_t column_step,
                                              int64_t columns, uint32_t* dst) {
  const int64_t step = kStep > 0 ? kStep : column_step;
  const int32_t* first = sources[0] + offset;
  for (int64_t j = 0; j < columns; ++j)
    dst[j] = static_cast<uint32_t>(first[j * step] - qmin);
  for (int c = 1; c < channels; ++c) {
    const int32_t* source = sources[c] + offset;
    const int shift = c * bits;
    for (int64_t j = 0; j < columns; ++j)
      dst[j] |= static_cast<uint32_t>(source[j * step] - qmin) << shift;
  }
}

QG_RUNTIME_CLONES void gather_words_generic(const int32_t* const* sources, int channels, int bits,
                                            int32_t qmin, int64_t rows, int64_t columns, int64_t row_step,
                                            int64_t column_step, uint32_t* dst, int64_t dst_row) {
  for (int64_t i = 0; i < rows; ++i, dst += dst_row) {
    if (column_step == 1) {
      gather_row<1>(sources, channels, bits, qmin, i * row_step, 1, columns, dst);
    } else if (column_step == 2) {
      gather_row<2>(sources, channels, bits, qmin, i * row_step, 2, columns, dst);
    } else {
      gather_row<0>(sources, channels, bits, qmin, i * row_step, column_step, columns, dst);
    }
  }
}

#if QG_X86_KERNELS

// The codes source[j * step] of the first n columns (j < min(n, 16)), step 1 or 2, in lanes j; the other
// lanes are 0 and no code beyond the last column is read. Step 1 is one masked load; step 2 two masked
// loads of the 2n - 1 codes the n columns span and a two-source permute of the even lanes.
__attribute__((target("avx512f"))) __m512i column_lanes(const int32_t* source, int64_t step, int64_t n) {
  assert(step == 1 || step == 2);
  if (step == 1) return _mm512_maskz_loadu_epi32(first_lanes(n), source);
  const int64_t spanned = 2 * std::min<int64_t>(n, 16) - 1;
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i low = _mm512_maskz_loadu_epi32(first_lanes(spanned), source);
  const __m512i high = _mm512_maskz_loadu_epi32(first_lanes(spanned - 16), source + 16);
  return _mm512_permutex2var_epi32(low, evens, high);
}

// gather_words for Isa::Avx512Vnni, 16 words at a time: per channel the codes of 16 columns (column_lanes
// at steps 1 and 2, a masked gather at larger ones), minus qmin, shifted to the channel's byte and ORed in.
// The row tail is masked.
QG_VNNI_TARGET void gather_words_avx512(const int32_t* const* sources, int channels, int32_t qmin,
                                        int64_t rows, int64_t columns, int64_t row_step, int64_t column_step,
                                        uint32_t* dst, int64_t dst_row) {
  const __m512i minimum = _mm512_set1_epi32(qmin);
  const __m512i indices =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int32_t>(column_step)));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < columns; j += 16) {
      const int64_t n = std::min<int64_t>(columns - j, 16);
      const __mmask16 lanes = first_lanes(n);
      __m512i word = _mm512_setzero_si512();
      for (int c = 0; c < channels; ++c) {
        const int32_t* source = sources[c] + i * row_step + j * column_step;
        const __m512i codes =
            column_step <= 2 ? column_lanes(source, column_step, n)
                             : _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), lanes, indices, source, 4);
        word = _mm512_or_si512(word,
                               _mm512_sll_epi32(_mm512_sub_epi32(codes, minimum), _mm_cvtsi32_si128(8 * c)));
      }
      _mm512_mask_storeu_epi32(dst + i * dst_row + j, lanes, word);
    }
  }
}

// offset_rows for Isa::Avx512Vnni at steps 1 and 2, 16 values at a time, so that the few values of a row
// (7 to 28 in MNIST-sized models) need no scalar remainder loop. The row tail is masked. All rows in one
// call: per row only the two pointers move.
__attribute__((target("avx512f"))) void offset_rows_avx512(const int32_t* source, int64_t source_row,
                                                           int64_t step, int32_t zero, int64_t rows,
                                                           int64_t n, int32_t* dst, int64_t dst_row) {
  const __m512i zeros = _mm512_set1_epi32(zero);
  for (int64_t i = 0; i < rows; ++i, source += source_row, dst += dst_row) {
    for (int64_t j = 0; j < n; j += 16) {
      const __m512i codes = column_lanes(source + j * step, step, n - j);
      _mm512_mask_storeu_epi32(dst + j, first_lanes(n - j), _mm512_sub_epi32(codes, zeros));
    }
  }
}

#endif  // QG_X86_KERNELS

// offset_rows's generic version (a loop GCC vectorises at step 1).
QG_RUNTIME_CLONES void offset_rows_generic(const int32_t* source, int64_t source_row, int64_t step,
                                           int32_t zero, int64_t rows, int64_t n, int32_t* dst,
                                           int64_t dst_row) {
  for (int64_t i = 0; i < rows; ++i, source += source_row, dst += dst_row) {
    if (step == 1) {
      for (int64_t j = 0; j < n; ++j)
        dst[j] = source[j] - zero;
    } else {
      for (int64_t j = 0; j < n; ++j)
        dst[j] = source[j * step] - zero;
    }
  }
}

}  // namespace

void gather_words(Isa isa, const int32_t* const* sources, int channels, int32_t qmin, int64_t rows,
                  int64_t columns, int64_t row_step, int64_t column_step, uint32_t* dst, int64_t dst_row) {
  assert(channels >= 1 && channels <= k_per_word(isa));
#if QG_X86_KERNELS
  if (isa == Isa::Avx512Vnni) {
    gather_words_avx512(sources, channels, qmin, rows, columns, row_step, column_step, dst, dst_row);
    return;
  }
#endif
  gather_words_generic(sources, channels, 8 * 4 / k_per_word(isa), qmin, rows, columns, row_step, column_step,
                       dst, dst_row);
}

void offset_rows(Isa isa, const int32_t* source, int64_t source_row, int64_t step, int32_t zero, int64_t rows,
                 int64_t n, int32_t* dst, int64_t dst_row) {
  assert(step >= 1);
#if QG_X86_KERNELS
  if (isa == Isa::Avx512Vnni && step <= 2) {
    offset_rows_avx512(source, source_row, step, zero, rows, n, dst, dst_row);
    return;
  }
#endif
  offset_rows_generic(source, source_row, step, zero, rows, n, dst, dst_row);
}

// GCC warns (-Wpsabi) that passing these vectors by value has another ABI with and without AVX; they only
// travel between always-inlined helpers here, so it never matters.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace {

using Int8x = int32_t __attribute__((vector_size(32)));  // 8 lanes
using Uint8x = uint32_t __attribute__((vector_size(32)));
using Int4x = int32_t __attribute__((vector_size(16)));  // 4 lanes
using Uint4x = uint32_t __attribute__((vector_size(16)));

template <class V>
[[gnu::always_inline]] inline V load_vector(const int32_t* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class V>
[[gnu::always_inline]] inline V vmax(V a, V b) {
  return a > b ? a : b;
}

// Pooled outputs [j, j + L) of one pooled row (L = lanes of V), from the two accumulator rows. kSums false:
// the offset is 0 and s0, s1 are not read.
template <class V, class U, bool kSums>
[[gnu::always_inline]] inline void pool_block(const int32_t* d0, const int32_t* d1, const int32_t* s0,
                                              const int32_t* s1, uint32_t offset, uint32_t constant,
                                              int64_t j, int32_t* out) {
  constexpr int L = sizeof(V) / sizeof(int32_t);
  V pair_max[2];
  for (int h = 0; h < 2; ++h) {
    const int64_t x = 2 * j + h * L;
    U a0 = (U)load_vector<V>(d0 + x) + constant;
    U a1 = (U)load_vector<V>(d1 + x) + constant;
    if constexpr (kSums) {
      a0 += offset * (U)load_vector<V>(s0 + x);
      a1 += offset * (U)load_vector<V>(s1 + x);
    }
    pair_max[h] = vmax((V)a0, (V)a1);
  }
  V evens, odds;
  if constexpr (L == 8) {
    evens = __builtin_shufflevector(pair_max[0], pair_max[1], 0, 2, 4, 6, 8, 10, 12, 14);
    odds = __builtin_shufflevector(pair_max[0], pair_max[1], 1, 3, 5, 7, 9, 11, 13, 15);
  } else {
    evens = __builtin_shufflevector(pair_max[0], pair_max[1], 0, 2, 4, 6);
    odds = __builtin_shufflevector(pair_max[0], pair_max[1], 1, 3, 5, 7);
  }
  const V result = vmax(evens, odds);
  std::memcpy(out + j, &result, sizeof result);
}

// pool_accumulators' rows; kSums false: the offset is 0 and s is not read.
template <bool kSums>
[[gnu::always_inline]] inline void pool_accumulator_rows(const int32_t* d, const int32_t* s, uint32_t offset,
                                                         uint32_t constant, int64_t row, int64_t pooled_h,
                                                         int64_t pooled_w, int32_t* maxima) {
  for (int64_t i = 0; i < pooled_h; ++i) {
    const int32_t *d0 = d + 2 * i * row, *d1 = d0 + row, *s0 = s + 2 * i * row, *s1 = s0 + row;
    int32_t* out = maxima + i * pooled_w;
    // Blocks of 8 (or 4) outputs; the last block overlaps the previous one when needed (it writes the same
    // values again), so there is no scalar tail except for rows narrower than 4.
    if (pooled_w >= 8) {
      int64_t j = 0;
      for (; j + 8 <= pooled_w; j += 8)
        pool_block<Int8x, Uint8x, kSums>(d0, d1, s0, s1, offset, constant, j, out);
      if (j < pooled_w) pool_block<Int8x, Uint8x, kSums>(d0, d1, s0, s1, offset, constant, pooled_w - 8, out);
    } else if (pooled_w >= 4) {
      pool_block<Int4x, Uint4x, kSums>(d0, d1, s0, s1, offset, constant, 0, out);
      pool_block<Int4x, Uint4x, kSums>(d0, d1, s0, s1, offset, constant, pooled_w - 4, out);
    } else {
      const auto acc = [&](const int32_t* dr, const int32_t* sr, int64_t x) {
        return accumulator(dr[x], kSums ? sr[x] : 0, offset, constant);
      };
      for (int64_t j = 0; j < pooled_w; ++j) {
        const int64_t x = 2 * j;
        out[j] = std::max({acc(d0, s0, x), acc(d0, s0, x + 1), acc(d1, s1, x), acc(d1, s1, x + 1)});
      }
    }
  }
}

}  // namespace

QG_RUNTIME_CLONES void pool_accumulators(const int32_t* d, const int32_t* s, int32_t weight_offset,
                                         int64_t constant, int64_t row, int64_t pooled_h, int64_t pooled_w,
                                         int32_t* maxima) {
  const auto offset = static_cast<uint32_t>(weight_offset);
  const auto constant32 = static_cast<uint32_t>(static_cast<int32_t>(constant));
  if (weight_offset == 0) {  // s is not read: d stands in for it
    pool_accumulator_rows<false>(d, d, offset, constant32, row, pooled_h, pooled_w, maxima);
  } else {
    pool_accumulator_rows<true>(d, s, offset, constant32, row, pooled_h, pooled_w, maxima);
  }
}

void pool_requantize(Isa isa, const int32_t* d, const int32_t* s, int32_t weight_offset, int64_t constant,
                     int64_t row, int64_t pooled_h, int64_t pooled_w, int32_t multiplier, int shift,
                     int32_t zero, int32_t lo, int32_t hi, int32_t* maxima, int32_t* out) {
#if QG_X86_KERNELS
  if (isa == Isa::Avx512Vnni) {
    if (weight_offset == 0) {
      pool_requantize_avx512<false>(d, s, weight_offset, constant, row, pooled_h, pooled_w, multiplier, shift,
                                    zero, lo, hi, out);
    } else {
      pool_requantize_avx512<true>(d, s, weight_offset, constant, row, pooled_h, pooled_w, multiplier, shift,
                                   zero, lo, hi, out);
    }
    return;
  }
#endif
  pool_accumulators(d, s, weight_offset, constant, row, pooled_h, pooled_w, maxima);
  requantize_row(isa, maxima, maxima, 0, 0, multiplier, shift, zero, lo, hi, out, pooled_h * pooled_w);
}

void dot_panel(Isa isa, const uint32_t* const* a_rows, int64_t words, const uint32_t* weights,
               int64_t channels, int64_t positions, int32_t* d, int64_t ldd) {
#if QG_X86_KERNELS
  if (isa == Isa::Avx512Vnni) return dot_panel_vnni(a_rows, words, weights, channels, positions, d, ldd);
  if (isa == Isa::Avx2) return dot_panel_avx2(a_rows, words, weights, channels, positions, d, ldd);
#endif
  dot_panel_portable(a_rows, words, weights, channels, positions, d, ldd);
}

}  // namespace qg::runtime::int8
