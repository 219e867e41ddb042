#include "core/kernels/matmul.h"

#include <stdexcept>

#include "core/blas.h"

namespace qg::kernel {

namespace {

// A 2-D operand as BLAS sees it: a pointer, whether it is stored transposed, and its leading dimension.
struct GemmOperand {
  Tensor holder;  // keeps a contiguous copy alive when one was needed
  bool transposed = false;
  int ld = 0;
};

GemmOperand as_gemm_operand(const Tensor& t) {
  const int64_t rows = t.shape()[0], cols = t.shape()[1];
  if (t.strides()[1] == 1 && t.strides()[0] >= std::max<int64_t>(cols, 1))
    return {t, false, static_cast<int>(t.strides()[0])};
  if (t.strides()[0] == 1 && t.strides()[1] >= std::max<int64_t>(rows, 1))
    return {t, true, static_cast<int>(t.strides()[1])};
  const Tensor c = t.clone();
  return {c, false, static_cast<int>(std::max<int64_t>(cols, 1))};
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[0]) {
    throw std::invalid_argument("matmul: cannot multiply " + to_string(a.shape()) + " by " +
                                to_string(b.shape()) + " (expected [m,k] x [k,n])");
  }
  const int m = static_cast<int>(a.shape()[0]), k = static_cast<int>(a.shape()[1]);
  const int n = static_cast<int>(b.shape()[1]);
  Tensor out = Tensor::zeros({m, n});
  if (k == 0) return out;
  const GemmOperand ga = as_gemm_operand(a), gb = as_gemm_operand(b);
  blas::gemm(ga.transposed, gb.transposed, m, n, k, 1.0f, ga.holder.data(), ga.ld, gb.holder.data(), gb.ld,
             0.0f, out.data(), std::max(n, 1));
  return out;
}

Tensor matmul_row_by_row(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[0]) {
    throw std::invalid_argument("matmul: cannot multiply " + to_string(a.shape()) + " by " +
                                to_string(b.shape()) + " (expected [m,k] x [k,n])");
  }
  const int m = static_cast<int>(a.shape()[0]), k = static_cast<int>(a.shape()[1]);
  const int n = static_cast<int>(b.shape()[1]);
  Tensor out = Tensor::zeros({m, n});
  if (k == 0) return out;
  const GemmOperand ga = as_gemm_operand(a), gb = as_gemm_operand(b);
  for (int i = 0; i < m; ++i) {
    // Row i of a: at i * ld when stored by rows, at i (with the same transposed flag and ld) by columns.
    const float* row = ga.holder.data() + (ga.transposed ? i : static_cast<int64_t>(i) * ga.ld);
    blas::gemm(ga.transposed, gb.transposed, 1, n, k, 1.0f, row, ga.ld, gb.holder.data(), gb.ld, 0.0f,
               out.data() + static_cast<int64_t>(i) * std::max(n, 1), std::max(n, 1));
  }
  return out;
}

}  // namespace qg::kernel
