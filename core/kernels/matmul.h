// Matrix product of 2-D tensors through OpenBLAS sgemm.
#pragma once

#include "core/tensor.h"

namespace qg::kernel {

/// [m,k] x [k,n] -> [m,n]. A transposed view (strides [1,m]) is passed to BLAS as a transpose flag,
/// not copied, so `matmul(transpose(a,0,1), b)` costs no extra memory.
Tensor matmul(const Tensor& a, const Tensor& b);

/// The same product, one row of `a` at a time (m products of [1, k] x [k, n]). BLAS may add a row's
/// products in an order that depends on m (OpenBLAS does), so the rows of matmul(a, b) can differ in their
/// last bits from those of a product over fewer rows; here every row's bits depend on that row alone
/// (split-invariant batch sums, core/batch_reduction.h).
Tensor matmul_row_by_row(const Tensor& a, const Tensor& b);

}  // namespace qg::kernel
