#include "runtime/ops/linear_dot.h"

#include <cassert>
#include <memory>

#include "runtime/ops/channel_codes.h"

namespace qg::runtime {

namespace {

constexpr size_t kPackedCacheSize = 8;

}  // namespace

// A linear layer's weights packed for the engine, and the per-output constants of the expansion above.
// Kept in the worker's Scratch; `source` holds what it was packed from, so a changed op is packed again.
struct PackedLinear {
  struct Source {
    const Linear* op = nullptr;
    int8::Isa isa = int8::Isa::Portable;
    std::vector<int16_t> codes;
    std::vector<int32_t> zero_points, bias;
    QuantParams input_quant;
    int64_t in_features = 0, out_features = 0;
    int weight_bits = 0;
    bool weight_signed = false;
  } source;
  int64_t words = 0;                    // ceil(in_features / k_per_word)
  std::vector<uint32_t> weights;        // [out_features + 1][words]; the last row is all ones (gives S)
  std::vector<int64_t> constants;       // bias + (qmin_in - Z1) Sw[j] + K (qmin_in - Z1)(m - Z2[j])
  std::vector<int32_t> weight_offsets;  // m - Z2[j]
};

namespace {

PackedLinear::Source source_of(const Linear& op, int8::Isa isa) {
  return {&op,
          isa,
          op.weight.codes,
          op.weight.zero_points,
          op.bias,
          op.input_quant,
          op.in_features,
          op.out_features,
          op.weight.bits,
          op.weight.is_signed};
}

// Whether `source` is what `op` would be packed from: compared field by field, without the copy of the
// weights that source_of makes.
bool packed_from(const PackedLinear::Source& source, const Linear& op, int8::Isa isa) {
  return source.op == &op && source.isa == isa && source.codes == op.weight.codes &&
         source.zero_points == op.weight.zero_points && source.bias == op.bias &&
         source.input_quant == op.input_quant && source.in_features == op.in_features &&
         source.out_features == op.out_features && source.weight_bits == op.weight.bits &&
         source.weight_signed == op.weight.is_signed;
}

std::shared_ptr<const PackedLinear> pack(const Linear& op, int8::Isa isa) {
  auto packed = std::make_shared<PackedLinear>();
  packed->source = source_of(op, isa);
  const int kpw = int8::k_per_word(isa);
  const int64_t k_count = op.in_features;
  packed->words = (k_count + kpw - 1) / kpw;
  const int32_t middle = op.weight.middle();
  const int64_t input_offset = op.input_quant.qmin() - op.input_quant.zero_point;
  packed->weights.assign(static_cast<size_t>((op.out_features + 1) * packed->words), 0);
  for (int64_t j = 0; j <= op.out_features; ++j) {
    const bool ones = j == op.out_features;
    const int16_t* row = op.weight.codes.data() + (ones ? 0 : j * k_count);
    for (int64_t w = 0; w < packed->words; ++w) {
      int32_t values[4] = {0, 0, 0, 0};  // features past the end: weight 0
      for (int i = 0; i < kpw && w * kpw + i < k_count; ++i)
        values[i] = ones ? 1 : row[w * kpw + i] - middle;
      packed->weights[static_cast<size_t>(j * packed->words + w)] = int8::pack_weights(isa, values);
    }
  }
  for (int64_t j = 0; j < op.out_features; ++j) {
    int64_t weight_sum = 0;
    for (int64_t k = 0; k < k_count; ++k)
      weight_sum += op.weight.codes[static_cast<size_t>(j * k_count + k)] - middle;
    const int64_t offset = middle - op.weight.zero_point(j);
    const int64_t bias = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(j)];
    packed->constants.push_back(bias + input_offset * weight_sum + k_count * input_offset * offset);
    packed->weight_offsets.push_back(static_cast<int32_t>(offset));
  }
  return packed;
}

// The packed weights of `op` from the scratch's cache, packed afresh when missing or out of date (checked
// once per run(), as for the conv: see Scratch::PackedEntry).
const PackedLinear& packed_weights(const Linear& op, int8::Isa isa, Scratch& scratch) {
  for (Scratch::PackedLinearEntry& entry : scratch.packed_linears) {
    if (entry.linear->source.op != &op || entry.linear->source.isa != isa) continue;
    const bool checked = scratch.run_id != 0 && entry.checked_in_run == scratch.run_id;
    if (!checked && !packed_from(entry.linear->source, op, isa)) entry.linear = pack(op, isa);
    entry.checked_in_run = scratch.run_id;
    return *entry.linear;
  }
  if (scratch.packed_linears.size() == kPackedCacheSize)
    scratch.packed_linears.erase(scratch.packed_linears.begin());
  scratch.packed_linears.push_back({pack(op, isa), scratch.run_id});
  return *scratch.packed_linears.back().linear;
}

// words[w * positions + n] = features w*kpw .. w*kpw + kpw - 1 of sample n as a = q - qmin, packed; 0 for
// features past the end and for samples n >= samples.
void fill_words(const Linear& op, int64_t samples, std::span<const int32_t> input, int64_t words,
                int64_t positions, int8::Isa isa, Scratch& scratch) {
  const int kpw = int8::k_per_word(isa);
  const int32_t qmin = op.input_quant.qmin();
  const int64_t k_count = op.in_features;
  uint32_t* dst = grow_to(scratch.words, static_cast<size_t>(words * positions));
  grow_to(scratch.rows, static_cast<size_t>(words));
  for (int64_t w = 0; w < words; ++w)
    scratch.rows[static_cast<size_t>(w)] = dst + w * positions;
  const int64_t full_words = k_count / kpw;
  for (int64_t n = 0; n < samples; ++n) {
    const int32_t* x = input.data() + n * k_count;
    int32_t values[4] = {0, 0, 0, 0};
    for (int64_t w = 0; w < full_words; ++w) {
      for (int i = 0; i < kpw; ++i)
        values[i] = x[w * kpw + i] - qmin;
      dst[w * positions + n] = int8::pack_activations(isa, values);
    }
    if (full_words < words) {  // the last, partial word
      for (int i = 0; i < kpw; ++i)
        values[i] = full_words * kpw + i < k_count ? x[full_words * kpw + i] - qmin : 0;
      dst[full_words * positions + n] = int8::pack_activations(isa, values);
    }
  }
  for (int64_t w = 0; w < words; ++w)
    std::fill(dst + w * positions + samples, dst + (w + 1) * positions, 0u);
}

}  // namespace

bool linear_dot_applies(const Linear& op) {
  return op.in_features < int8::kMaxDotProducts;
}

void linear_dot(const Linear& op, int64_t samples, std::span<const int32_t> input, std::span<int32_t> output,
                RequantMode mode, Scratch& scratch, int8::Isa isa) {
  assert(linear_dot_applies(op) && samples >= 1);
  assert(static_cast<int64_t>(input.size()) == samples * op.in_features);
  assert(static_cast<int64_t>(output.size()) == samples * op.out_features);
  const PackedLinear& packed = packed_weights(op, isa, scratch);
  const int64_t positions = int8::round_up(samples, int8::kPanelStep);
  fill_words(op, samples, input, packed.words, positions, isa, scratch);
  const int64_t outputs = op.out_features;
  int32_t* dots = grow_to(scratch.dots, static_cast<size_t>((outputs + 1) * positions));
  int8::dot_panel(isa, scratch.rows.data(), packed.words, packed.weights.data(), outputs + 1, positions, dots,
                  positions);
  const int32_t* sums = dots + outputs * positions;  // S: the row of ones
  int32_t* codes = grow_to(scratch.codes, static_cast<size_t>(positions));
  const OutputStage& stage = op.output_stage;
  for (int64_t j = 0; j < outputs; ++j) {
    const int32_t* d = dots + j * positions;
    const int32_t offset = packed.weight_offsets[static_cast<size_t>(j)];
    const int64_t constant = packed.constants[static_cast<size_t>(j)];
    channel_codes(stage, j, mode, isa, {d, sums, offset, constant, samples, 1, samples}, codes, nullptr);
    for (int64_t n = 0; n < samples; ++n)
      output[static_cast<size_t>(n * outputs + j)] = codes[n];
  }
}

}  // namespace qg::runtime
