// Dims: the shape of one integer activation or weight tensor of the runtime.
//
// The runtime keeps its own tiny shape type instead of core/shape.h because a deployed model links
// the runtime alone (no core/, no autograd/). Activation shapes inside a model are *per sample*
// ([C,H,W] or [F]); the batch dimension is added only at the edges (IntTensor, run()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qg::runtime {

using Dims = std::vector<int64_t>;

/// The largest element count the runtime accepts for one tensor (weights, or one sample's activation).
/// It bounds every allocation a model can ask for, so a lying model file cannot request terabytes.
inline constexpr int64_t kMaxElements = int64_t{1} << 28;

/// "[40,1,3,3]": for error messages.
std::string dims_to_string(const Dims& dims);

/// Product of the dimensions (1 for []). Throws std::invalid_argument naming `what` if a dimension is
/// negative or the product exceeds kMaxElements (checked before it could overflow).
int64_t checked_numel(const Dims& dims, const std::string& what);

}  // namespace qg::runtime
