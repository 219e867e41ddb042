// Exercise conv2d_backward (chapter 3): the declaration the check calls. Write the definition in your copy
// of starter.cpp (scripts/exercise start conv2d_backward); the task is described there.
#pragma once

#include "core/kernels/conv.h"

namespace exercise {

qg::kernel::Conv2dGrads conv2d_backward(const qg::Tensor& grad_output, const qg::Tensor& input,
                                        const qg::Tensor& weight, const qg::kernel::Conv2dGeometry& g);

}  // namespace exercise
