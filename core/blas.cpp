#include "core/blas.h"

#include <cblas.h>

#include <algorithm>

#include "core/parallel.h"

namespace qg::blas {

namespace {

// OpenBLAS's own threads spin in sched_yield between calls; quantgrad parallelises above it instead.
// Set once, before the first product, on whichever thread gets here first.
void keep_openblas_single_threaded() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

// Below this many multiply-adds a product is not worth splitting across threads.
constexpr double kSplitMacs = 1 << 22;

void gemm_single(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  keep_openblas_single_threaded();
  const int threads = parallel::num_threads();
  if (threads == 1 || parallel::in_parallel_region() || double(m) * n * k < kSplitMacs) {
    gemm_single(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // About one block of C per thread: whole rows when C is tall, else whole columns (multiples of 16
  // floats, so that blocks start on cache lines). Each block is an independent product.
  const bool by_rows = m >= n;
  const int extent = by_rows ? m : n;
  const int block = std::max(16, (extent / threads + 15) / 16 * 16);
  const int blocks = (extent + block - 1) / block;
  parallel::parallel_for(blocks, [&](int64_t i) {
    const int first = static_cast<int>(i) * block;
    const int size = std::min(block, extent - first);
    if (by_rows) {
      const float* a_block = transpose_a ? a + first : a + static_cast<long>(first) * lda;
      gemm_single(transpose_a, transpose_b, size, n, k, alpha, a_block, lda, b, ldb, beta,
                  c + static_cast<long>(first) * ldc, ldc);
    } else {
      const float* b_block = transpose_b ? b + static_cast<long>(first) * ldb : b + first;
      gemm_single(transpose_a, transpose_b, m, size, k, alpha, a, lda, b_block, ldb, beta, c + first, ldc);
    }
  });
}

void set_num_threads(int threads) {
  keep_openblas_single_threaded();
  parallel::set_num_threads(threads);
}

const char* core_name() {
  return openblas_get_corename();
}

int num_threads() {
  return parallel::num_threads();
}

}  // namespace qg::blas
