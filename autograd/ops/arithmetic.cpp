// Arithmetic with broadcasting. For z = f(a, b) with a broadcast, the gradient w.r.t. a is the
// incoming gradient reduced (summed) back to a's shape: kernel::sum_to.
#include "autograd/function.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"

namespace qg {

namespace {

// z = a + b:  dz/da = 1, dz/db = 1
struct AddFn {
  static constexpr const char* name = "add";
  Shape a_shape, b_shape;
  Tensor forward(const Tensor& a, const Tensor& b) {
    a_shape = a.shape();
    b_shape = b.shape();
    return kernel::add(a, b);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {kernel::sum_to(g, a_shape), kernel::sum_to(g, b_shape)};
  }
};

// z = a - b:  dz/da = 1, dz/db = -1
struct SubFn {
  static constexpr const char* name = "sub";
  Shape a_shape, b_shape;
  Tensor forward(const Tensor& a, const Tensor& b) {
    a_shape = a.shape();
    b_shape = b.shape();
    return kernel::sub(a, b);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {kernel::sum_to(g, a_shape), kernel::sum_to(kernel::neg(g), b_shape)};
  }
};

// z = a * b:  dz/da = b, dz/db = a
struct MulFn {
  static constexpr const char* name = "mul";
  Tensor a, b;
  Tensor forward(const Tensor& a_in, const Tensor& b_in) {
    a = a_in;
    b = b_in;
    return kernel::mul(a, b);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {kernel::sum_to(kernel::mul(g, b), a.shape()), kernel::sum_to(kernel::mul(g, a), b.shape())};
  }
};

// z = a / b:  dz/da = 1/b, dz/db = -a/b^2
struct DivFn {
  static constexpr const char* name = "div";
  Tensor a, b;
  Tensor forward(const Tensor& a_in, const Tensor& b_in) {
    a = a_in;
    b = b_in;
    return kernel::div(a, b);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    const Tensor grad_a = kernel::div(g, b);
    const Tensor grad_b = kernel::neg(kernel::div(kernel::mul(grad_a, a), b));
    return {kernel::sum_to(grad_a, a.shape()), kernel::sum_to(grad_b, b.shape())};
  }
};

// z = -a:  dz/da = -1
struct NegFn {
  static constexpr const char* name = "neg";
  Tensor forward(const Tensor& a) { return kernel::neg(a); }
  std::vector<Tensor> backward(const Tensor& g) { return {kernel::neg(g)}; }
};

// z = a + s:  dz/da = 1
struct AddScalarFn {
  static constexpr const char* name = "add_scalar";
  Tensor forward(const Tensor& a, float s) { return kernel::add_scalar(a, s); }
  std::vector<Tensor> backward(const Tensor& g) { return {g}; }
};

// z = a * s:  dz/da = s
struct MulScalarFn {
  static constexpr const char* name = "mul_scalar";
  float s = 1.0f;
  Tensor forward(const Tensor& a, float scale) {
    s = scale;
    return kernel::mul_scalar(a, s);
  }
  std::vector<Tensor> backward(const Tensor& g) { return {kernel::mul_scalar(g, s)}; }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return apply<AddFn>(a, b);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return apply<SubFn>(a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return apply<MulFn>(a, b);
}
Tensor div(const Tensor& a, const Tensor& b) {
  return apply<DivFn>(a, b);
}
Tensor neg(const Tensor& a) {
  return apply<NegFn>(a);
}
Tensor add_scalar(const Tensor& a, float s) {
  return apply<AddScalarFn>(a, s);
}
Tensor mul_scalar(const Tensor& a, float s) {
  return apply<MulScalarFn>(a, s);
}

}  // namespace qg
