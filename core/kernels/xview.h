// Adapts a contiguous Tensor's buffer as an xtensor expression without copying. Private to the
// kernels in core/kernels/*.cpp: xtensor stays an implementation detail of the element-wise and
// reduction kernels, never part of a public header.
#pragma once

#include <cassert>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "core/tensor.h"

namespace qg::kernel::detail {

inline std::vector<size_t> xshape(const Shape& shape) {
  return std::vector<size_t>(shape.begin(), shape.end());
}

inline auto xview(Tensor& t) {
  assert(t.is_contiguous());
  return xt::adapt(t.data(), static_cast<size_t>(t.numel()), xt::no_ownership(), xshape(t.shape()));
}

inline auto xview(const Tensor& t) {
  assert(t.is_contiguous());
  return xt::adapt(t.data(), static_cast<size_t>(t.numel()), xt::no_ownership(), xshape(t.shape()));
}

}  // namespace qg::kernel::detail
