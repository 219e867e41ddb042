// Exercise fake_quant_backward (chapter 5): the declaration the check calls. Write the definition in your
// copy of starter.cpp (scripts/exercise start fake_quant_backward); the task is described there.
#pragma once

#include "core/tensor.h"
#include "quant/fake_quantize.h"
#include "quant/qparams.h"

namespace exercise {

qg::Tensor fake_quantize_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                  const qg::quant::QParams& qparams, qg::quant::Ste ste);

}  // namespace exercise
