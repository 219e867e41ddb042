#include "runtime/ops/channel_codes.h"

#include <cassert>

namespace qg::runtime {

namespace {

// The tutorial's float output stage, one accumulator at a time: slow, and used only to compare the integer
// path with it (tools' --requant float-reference). The accumulator is summed in unsigned 32-bit arithmetic,
// where wrap-around is defined, as int8::requantize_rows sums it.
void float_reference_run(const OutputStage& stage, int64_t channel, const AccumulatorRows& acc,
                         int32_t* codes, int64_t n) {
  const auto offset = static_cast<uint32_t>(acc.weight_offset);
  const auto constant = static_cast<uint32_t>(static_cast<int32_t>(acc.constant));
  for (int64_t q = 0; q < n; ++q) {
    const uint32_t s = acc.weight_offset == 0 ? 0u : static_cast<uint32_t>(acc.s[q]);
    const auto a = static_cast<int32_t>(static_cast<uint32_t>(acc.d[q]) + offset * s + constant);
    codes[q] = stage.apply(a, channel, RequantMode::FloatReference);
  }
}

}  // namespace

void channel_codes(const OutputStage& stage, int64_t channel, RequantMode mode, int8::Isa isa,
                   const AccumulatorRows& acc, int32_t* out, int32_t* span_codes) {
  assert(acc.row >= acc.columns && acc.rows >= 1);
  if (mode == RequantMode::Integer) {
    const QuantizedMultiplier m = stage.multipliers[stage.per_channel() ? static_cast<size_t>(channel) : 0];
    int8::requantize_rows(isa, acc.d, acc.s, acc.row, acc.weight_offset, acc.constant, m.multiplier, m.shift,
                          stage.output.zero_point, stage.clamp_min, stage.clamp_max, acc.rows, acc.columns,
                          out, span_codes);
    return;
  }
  if (acc.rows == 1 || acc.row == acc.columns) {  // no gaps: straight into out
    float_reference_run(stage, channel, acc, out, acc.span());
    return;
  }
  assert(span_codes != nullptr);
  float_reference_run(stage, channel, acc, span_codes, acc.span());
  int8::rows_from_span(span_codes, acc.row, acc.rows, acc.columns, out);
}

}  // namespace qg::runtime
