// The smallest and largest value of a tensor and whether every value is finite, in one pass.
//
// Observers need all three for every activation they watch during quantization-aware training (a range
// for the quantization parameters, and a refusal of NaN or Inf that would otherwise slip through: min and
// max comparisons skip NaN). Three separate reductions read the tensor three times; this reads it once.
#pragma once

#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace qg::kernel {

struct ValueRange {
  float min = 0.0f;  ///< over the finite values; meaningless when none is finite
  float max = 0.0f;
  bool all_finite = true;  ///< false if any value is NaN or +-Inf
};

/// The range of a non-empty tensor (throws std::invalid_argument for an empty one).
ValueRange value_range(const Tensor& x);

/// The row-major index of the first NaN or +-Inf in `x`, if any (none in an empty tensor). A finite tensor
/// costs one value_range pass.
std::optional<int64_t> first_non_finite(const Tensor& x);

}  // namespace qg::kernel
