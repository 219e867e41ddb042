// Exercise tensor_strides (chapter 1): the declarations the check calls. Write the definitions in your copy
// of starter.cpp (scripts/exercise start tensor_strides); the task is described there.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"

namespace exercise {

int64_t element_offset(std::span<const int64_t> index, const qg::Shape& strides, int64_t offset);
qg::Tensor transpose(const qg::Tensor& a, int64_t dim0, int64_t dim1);

}  // namespace exercise
