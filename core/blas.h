// The one door to OpenBLAS. Every matrix product in quantgrad goes through `gemm`, so swapping
// the BLAS (or counting FLOPs) touches one file.
#pragma once

namespace qg::blas {

/// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major.
/// op(X) is X or its transpose; lda/ldb/ldc are the row strides of A, B, C as stored.
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);

/// Threads OpenBLAS may use for one gemm.
void set_num_threads(int threads);
int num_threads();

}  // namespace qg::blas
