// Pooling a [H, W] plane in two one-dimensional passes, for the fast paths of max and average pooling.
//
// Output (oy, ox) reduces the image part of its window, rows `clipped(oy)` x columns `clipped(ox)`. Per
// output row: first each input column x is reduced over the window's rows, column[x] (a pass over whole
// input rows, which vectorises), then each output reduces column[] over its window's columns. A max and an
// integer sum are exact in any order, so this gives exactly the reference loops' result (tested in
// tests/runtime/pool_paths_test.cpp), with kh + kw instead of kh * kw steps per output.
#pragma once

#include <cassert>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/dims.h"
#include "runtime/window2d.h"

namespace qg::runtime {

/// `Reducer` provides: `using Acc`; `Acc identity()`; `Acc of(int32_t code)` (a code's contribution);
/// `Acc combine(Acc, Acc)`; `int32_t finish(Acc)` (the output code). `column` is scratch (resized here).
/// Both functions are always inlined, so that an op compiles them into its QG_RUNTIME_CLONES function
/// (runtime/ops/simd_clones.h) once per instruction set: the baseline x86-64 has no int32 max instruction.
template <class Reducer>
[[gnu::always_inline]] inline void separable_pool_plane(const int32_t* plane, int64_t height, int64_t width,
                                                        const Window2d& window, int64_t out_height,
                                                        int64_t out_width, const Reducer& reducer,
                                                        std::vector<typename Reducer::Acc>& column,
                                                        int32_t* out) {
  using Acc = typename Reducer::Acc;
  column.resize(static_cast<size_t>(width));
  Acc* col = column.data();
  for (int64_t oy = 0; oy < out_height; ++oy) {
    const Window2d::Range rows = window.clipped(oy, 0, height);
    for (int64_t x = 0; x < width; ++x)
      col[x] = reducer.identity();
    for (int64_t y = rows.begin; y < rows.end; ++y) {
      const int32_t* row = plane + y * width;
      for (int64_t x = 0; x < width; ++x)
        col[x] = reducer.combine(col[x], reducer.of(row[x]));
    }
    for (int64_t ox = 0; ox < out_width; ++ox) {
      const Window2d::Range cols = window.clipped(ox, 1, width);
      Acc acc = reducer.identity();
      for (int64_t x = cols.begin; x < cols.end; ++x)
        acc = reducer.combine(acc, col[x]);
      out[oy * out_width + ox] = reducer.finish(acc);
    }
  }
}

/// separable_pool_plane over every plane of a [C, H, W] input into the [C, H_out, W_out] output.
template <class Reducer>
[[gnu::always_inline]] inline void separable_pool(const Window2d& window, const Dims& input_shape,
                                                  std::span<const int32_t> input, std::span<int32_t> output,
                                                  const Reducer& reducer, const char* op_name) {
  const int64_t channels = input_shape[0], height = input_shape[1], width = input_shape[2];
  const int64_t out_height = window.output_size(height, 0, op_name);
  const int64_t out_width = window.output_size(width, 1, op_name);
  assert(static_cast<int64_t>(output.size()) == channels * out_height * out_width);
  std::vector<typename Reducer::Acc> column;
  for (int64_t c = 0; c < channels; ++c) {
    separable_pool_plane(input.data() + c * height * width, height, width, window, out_height, out_width,
                         reducer, column, output.data() + c * out_height * out_width);
  }
}

}  // namespace qg::runtime
