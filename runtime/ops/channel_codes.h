// The output stage of one output channel over its accumulators, in either RequantMode: the step the conv and
// linear kernels of the dot path (conv2d_dot, conv2d_depthwise, linear_dot) end with.
#pragma once

#include <cstdint>

#include "runtime/ops/int8_kernels.h"
#include "runtime/output_stage.h"

namespace qg::runtime {

/// The int32 accumulators of one output channel as int8::requantize_rows reads them: `rows` rows of `row`
/// positions each (row >= columns; the last row - columns positions of a row are gaps that hold no output),
/// acc[q] = d[q] + weight_offset * s[q] + constant, exact in int32 (the model's accumulator bound). s is read
/// only when weight_offset != 0 and may be null otherwise.
struct AccumulatorRows {
  const int32_t* d = nullptr;
  const int32_t* s = nullptr;
  int32_t weight_offset = 0;
  int64_t constant = 0;
  int64_t row = 0;
  int64_t rows = 1;
  int64_t columns = 0;

  /// The positions from the first accumulator to the last one read: (rows - 1) * row + columns.
  int64_t span() const { return (rows - 1) * row + columns; }
};

/// out[i * columns + j] = stage.apply(acc[i * row + j], channel, mode) for i < rows, j < columns.
/// RequantMode::Integer runs int8::requantize_rows on `isa`; RequantMode::FloatReference applies the stage
/// over the whole span, gaps included, and copies the rows out. `span_codes`: scratch of acc.span() values,
/// used when rows > 1 and row > columns (may be null otherwise).
void channel_codes(const OutputStage& stage, int64_t channel, RequantMode mode, int8::Isa isa,
                   const AccumulatorRows& acc, int32_t* out, int32_t* span_codes);

}  // namespace qg::runtime
