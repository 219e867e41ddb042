#include "core/blas.h"

#include <cblas.h>

namespace qg::blas {

void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, m,
              n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void set_num_threads(int threads) { openblas_set_num_threads(threads); }

int num_threads() { return openblas_get_num_threads(); }

}  // namespace qg::blas
