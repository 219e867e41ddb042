// The integer dot-product engine behind the fast conv path (conv2d.cpp), in three versions chosen at run
// time from CPUID: AVX-512 VNNI, AVX2, and portable C++. All three compute exactly the same integers.
//
// The engine multiplies small non-negative integers a (activation codes minus their code minimum, so in
// [0, 255]) with small signed integers w (weight codes minus a midpoint, so in [-128, 127]) and sums them
// in int32. The k-values of a dot product are packed into 32-bit words, several per word:
//
//   Isa::Avx512Vnni  4 bytes per word: a as uint8, w as int8; vpdpbusd multiplies and adds all four
//                    pairs of 16 words at once into 16 int32 sums (non-saturating: exact).
//   Isa::Avx2        2 int16 per word; vpmaddwd multiplies and adds both pairs of 8 words at once.
//   Isa::Portable    2 int16 per word, plain C++ loops.
//
// dot_panel computes a panel of such dot products, D[c][q] = sum_w dot(A_w[q], W[c][w]), for every output
// channel c and output position q, the way a GEMM does: 16 (or 8) positions per vector, several channels
// per register block, each loaded activation vector used by every channel of the block.
#pragma once

#include <cstdint>
#include <vector>

namespace qg::runtime::int8 {

enum class Isa { Portable, Avx2, Avx512Vnni };

/// The fastest version this CPU runs (CPUID, checked once).
Isa best_isa();
/// Whether this CPU can run `isa` (Portable always).
bool isa_available(Isa isa);
/// The instruction sets this CPU runs, Portable first (for tests and benchmarks that try each).
std::vector<Isa> available_isas();
/// "avx512-vnni", "avx2", "portable".
const char* isa_name(Isa isa);

/// k-values per 32-bit word: 4 for Avx512Vnni, 2 otherwise.
int k_per_word(Isa isa);

/// One word of k_per_word(isa) activation values (each in [0, 255]) or weight values (each in [-128, 127]);
/// a missing value is passed as 0. Bytes (or halves) in two's complement, lowest k first.
inline uint32_t pack_activations(Isa isa, const int32_t* values) {
  if (isa == Isa::Avx512Vnni) {
    return static_cast<uint32_t>(static_cast<uint8_t>(values[0])) |
           static_cast<uint32_t>(static_cast<uint8_t>(values[1])) << 8 |
           static_cast<uint32_t>(static_cast<uint8_t>(values[2])) << 16 |
           static_cast<uint32_t>(static_cast<uint8_t>(values[3])) << 24;
  }
  return static_cast<uint32_t>(static_cast<uint16_t>(values[0])) |
         static_cast<uint32_t>(static_cast<uint16_t>(values[1])) << 16;
}
inline uint32_t pack_weights(Isa isa, const int32_t* values) {
  return pack_activations(isa, values);
}

/// Positions per vector: dot_panel computes positions in multiples of this (16).
inline constexpr int64_t kPanelStep = 16;

/// The engine's sums stay exact in int32 below this many products per output (K * 255 * 128 < 2^31).
inline constexpr int64_t kMaxDotProducts = 65536;

/// value rounded up to a multiple of step (> 0).
inline constexpr int64_t round_up(int64_t value, int64_t step) {
  return (value + step - 1) / step * step;
}

/// D[c * ldd + q] = sum_{w < words} dot(a_rows[w][q], weights[c * words + w]) for c < channels and
/// q < positions (a multiple of kPanelStep; a_rows[w][q] must be readable for all of them).
void dot_panel(Isa isa, const uint32_t* const* a_rows, int64_t words, const uint32_t* weights,
               int64_t channels, int64_t positions, int32_t* d, int64_t ldd);

/// dst[q] = pack_activations(isa, {sources[0][q], sources[1][q], ...}) for q < n: k_per_word(isa) rows of
/// activation values (each in [0, 255]; pass a row of zeros for a missing value) interleaved into words.
void interleave_words(Isa isa, const int32_t* const* sources, int64_t n, uint32_t* dst);

/// A rows x columns window of activation words straight from the input codes of `channels` channels (1 to
/// k_per_word(isa)): for i < rows and j < columns,
///     dst[i * dst_row + j] = pack_activations(isa, {a_0, a_1, ...}),
///     a_c = sources[c][i * row_step + j * column_step] - qmin   (each in [0, 255]) for c < channels,
/// and 0 for the word's other k-values. With column_step > 1 this is the stride gather of a strided conv's
/// phase plane. Isa::Avx512Vnni uses AVX-512 intrinsics (masked loads read no code outside the window);
/// the others a loop GCC vectorises.
void gather_words(Isa isa, const int32_t* const* sources, int channels, int32_t qmin, int64_t rows,
                  int64_t columns, int64_t row_step, int64_t column_step, uint32_t* dst, int64_t dst_row);

/// The output stage of a conv (or linear layer) over `rows` rows of `columns` accumulators each, the rows
/// `row` (>= columns) positions apart in d and s, into rows of `columns` codes one after the other. For
/// i < rows and j < columns, with q = i * row + j:
///     acc = d[q] + weight_offset * s[q] + constant          (the layer's int32 accumulator, exactly)
///     out[i * columns + j] = clamp(zero + round(acc * multiplier * 2^(shift - 31)), lo, hi)
/// s is read only when weight_offset != 0 (it may be null otherwise: the layers whose weight codes fit around
/// their zero point, conv2d_dot.h, need no S and skip its loads and products).
/// The rounding is that of runtime/requantize.h's multiply_by_quantized_multiplier (half away from zero,
/// saturated to +-(2^31 - 1)); lo <= hi must lie in the int32 range around small codes, as an
/// OutputStage's do. The gaps (row - columns positions per row) are conv2d_dot's and conv2d_depthwise's
/// accumulator layout, whose rows are phase_w wide and hold phase_w - out_width positions of no output.
///
/// Isa::Avx512Vnni requantizes row by row straight into out (masks handle each row's tail). The others run
/// a loop GCC vectorises for the CPU it runs on, fast only over long runs: with gaps (rows > 1 and
/// row > columns) they requantize the whole span of (rows - 1) * row + columns positions, gaps included,
/// into `span_codes` (scratch of that many values) and copy the rows out; without gaps they write straight
/// into out and `span_codes` may be null.
void requantize_rows(Isa isa, const int32_t* d, const int32_t* s, int64_t row, int32_t weight_offset,
                     int64_t constant, int32_t multiplier, int shift, int32_t zero, int32_t lo, int32_t hi,
                     int64_t rows, int64_t columns, int32_t* out, int32_t* span_codes);

/// The rows of requantize_rows's layout taken out of the span they lie in: out[i * columns + j] =
/// span[i * row + j] for i < rows, j < columns (row >= columns; the gaps are skipped).
void rows_from_span(const int32_t* span, int64_t row, int64_t rows, int64_t columns, int32_t* out);

/// requantize_rows on one row of n accumulators: out[i] = the code of d[i] + weight_offset * s[i] + constant
/// for i < n (no scratch needed; s as in requantize_rows).
void requantize_row(Isa isa, const int32_t* d, const int32_t* s, int32_t weight_offset, int64_t constant,
                    int32_t multiplier, int shift, int32_t zero, int32_t lo, int32_t hi, int32_t* out,
                    int64_t n);

/// Rows of codes minus their zero point, read at column step `step` (>= 1): for i < rows and j < n,
///     dst[i * dst_row + j] = source[i * source_row + j * step] - zero
/// (the signed q - Z that conv2d_depthwise sums; source[(rows - 1) * source_row + (n - 1) * step] is the last
/// code read, and nothing of dst outside those positions is written). Isa::Avx512Vnni reads steps 1 and 2
/// with masked loads (no code beyond a row's last is read; at step 2 a permute keeps the even ones), as
/// gather_words does; other steps and ISAs run a loop GCC vectorises.
void offset_rows(Isa isa, const int32_t* source, int64_t source_row, int64_t step, int32_t zero, int64_t rows,
                 int64_t n, int32_t* dst, int64_t dst_row);

/// The 2x2, stride-2 max of accumulators acc[q] = d[q] + weight_offset * s[q] + constant laid out in rows
/// of `row` positions: maxima[i * pooled_w + j] = the max of acc at rows 2i, 2i+1 and columns 2j, 2j+1.
/// s is read only when weight_offset != 0 (as in requantize_rows).
void pool_accumulators(const int32_t* d, const int32_t* s, int32_t weight_offset, int64_t constant,
                       int64_t row, int64_t pooled_h, int64_t pooled_w, int32_t* maxima);

/// pool_accumulators followed by requantize_row on the maxima: out[i * pooled_w + j] is the code of the
/// pooled accumulator. Isa::Avx512Vnni does both in one pass; the others go through `maxima`
/// (pooled_h * pooled_w values of scratch). s as in requantize_rows.
void pool_requantize(Isa isa, const int32_t* d, const int32_t* s, int32_t weight_offset, int64_t constant,
                     int64_t row, int64_t pooled_h, int64_t pooled_w, int32_t multiplier, int shift,
                     int32_t zero, int32_t lo, int32_t hi, int32_t* maxima, int32_t* out);

}  // namespace qg::runtime::int8
