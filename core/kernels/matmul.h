// Matrix product of 2-D tensors through OpenBLAS sgemm.
#pragma once

#include "core/tensor.h"

namespace qg::kernel {

/// [m,k] x [k,n] -> [m,n]. A transposed view (strides [1,m]) is passed to BLAS as a transpose flag,
/// not copied, so `matmul(transpose(a,0,1), b)` costs no extra memory.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace qg::kernel
