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

// The checked operands of a x b and the zero output [m, n].
struct Product {
  int m = 0, n = 0, k = 0;
  GemmOperand a, b;
  Tensor out;
};

Product prepare_product(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[0]) {
    throw std::invalid_argument("matmul: cannot multiply " + to_string(a.shape()) + " by " +
                                to_string(b.shape()) + " (expected [m,k] x [k,n])");
  }
  Product p;
  p.m = static_cast<int>(a.shape()[0]);
  p.k = static_cast<int>(a.shape()[1]);
  p.n = static_cast<int>(b.shape()[1]);
  p.out = Tensor::zeros({p.m, p.n});
  if (p.k > 0) {
    p.a = as_gemm_operand(a);
    p.b = as_gemm_operand(b);
  }
  return p;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  Product p = prepare_product(a, b);
  if (p.k == 0) return p.out;
  blas::gemm(p.a.transposed, p.b.transposed, p.m, p.n, p.k, 1.0f, p.a.holder.data(), p.a.ld,
             p.b.holder.data(), p.b.ld, 0.0f, p.out.data(), std::max(p.n, 1));
  return p.out;
}

Tensor matmul_row_by_row(const Tensor& a, const Tensor& b) {
  Product p = prepare_product(a, b);
  if (p.k == 0) return p.out;
  for (int i = 0; i < p.m; ++i) {
    // Row i of a: at i * ld when stored by rows, at i (with the same transposed flag and ld) by columns.
    const float* row = p.a.holder.data() + (p.a.transposed ? i : static_cast<int64_t>(i) * p.a.ld);
    blas::gemm(p.a.transposed, p.b.transposed, 1, p.n, p.k, 1.0f, row, p.a.ld, p.b.holder.data(), p.b.ld,
               0.0f, p.out.data() + static_cast<int64_t>(i) * std::max(p.n, 1), std::max(p.n, 1));
  }
  return p.out;
}

}  // namespace qg::kernel
