// The one door to OpenBLAS. Every matrix product in quantgrad goes through `gemm`, so swapping
// the BLAS (or counting FLOPs) touches one file.
//
// Threads: OpenBLAS itself always runs single-threaded. Kernels that do many small products (convolution)
// split their batch across the cores with core/parallel.h and call gemm from each task; a large product
// called from outside a task is split here into column (or row) blocks, one per thread.
#pragma once

namespace qg::blas {

/// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major.
/// op(X) is X or its transpose; lda/ldb/ldc are the row strides of A, B, C as stored.
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);

/// Threads the kernels (and gemm) may use: sets parallel::set_num_threads.
void set_num_threads(int threads);
int num_threads();

/// The name of the kernel set OpenBLAS chose for this CPU (e.g. "Haswell", "SkylakeX"; OPENBLAS_CORETYPE
/// overrides the choice). Float products are bit-identical only between runs on the same kernel set: each
/// set sums in its own order.
const char* core_name();

}  // namespace qg::blas
