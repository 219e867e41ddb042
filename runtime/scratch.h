// Scratch: working memory a fast kernel reuses from one sample to the next within a run().
//
// Each worker thread of run() owns one Scratch; kernels resize() its vectors, which reallocates only
// when a larger size than ever before is asked for, so steady-state inference allocates nothing.
#pragma once

#include <cstdint>
#include <vector>

namespace qg::runtime {

struct Scratch {
  std::vector<int16_t> offsets;  ///< input codes minus the input zero point (im2col rows for conv)
  std::vector<int32_t> sums;     ///< per row of `offsets`: the sum of its entries
};

}  // namespace qg::runtime
