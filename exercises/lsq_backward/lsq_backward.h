// Exercise lsq_backward (chapter 8): the declaration the check calls. Write the definition in your copy of
// starter.cpp (scripts/exercise start lsq_backward); the task is described there.
#pragma once

#include "core/tensor.h"
#include "quant/fake_quantize_learnable.h"

namespace exercise {

/// dL/dx (the shape of x) and dL/ds (the shape of scale).
struct LsqGrads {
  qg::Tensor input;
  qg::Tensor scale;
};

LsqGrads fake_quantize_learnable_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                          const qg::Tensor& scale, const qg::quant::QuantSpec& spec,
                                          float grad_scale);

}  // namespace exercise
