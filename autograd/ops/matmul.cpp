// Matrix product. For C = A B:  dA = dC B^T,  dB = A^T dC  (transposes are views, not copies).
#include "core/kernels/matmul.h"
#include "autograd/function.h"
#include "autograd/ops.h"
#include "core/kernels/views.h"

namespace qg {

namespace {

struct MatmulFn {
  static constexpr const char* name = "matmul";
  Tensor a, b;
  Tensor forward(const Tensor& a_in, const Tensor& b_in) {
    a = a_in;
    b = b_in;
    return kernel::matmul(a, b);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {kernel::matmul(g, kernel::transpose(b, 0, 1)), kernel::matmul(kernel::transpose(a, 0, 1), g)};
  }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  return apply<MatmulFn>(a, b);
}

}  // namespace qg
