// Element-wise transcendental functions.
#include "autograd/function.h"
#include "autograd/ops.h"
#include "core/kernels/elementwise.h"

namespace qg {

namespace {

// y = e^x:  dy/dx = e^x = y. We save the output's values as a detached copy (not the output handle).
struct ExpFn {
  static constexpr const char* name = "exp";
  Tensor y;
  Tensor forward(const Tensor& x) {
    y = kernel::exp(x);
    return y.detach();
  }
  std::vector<Tensor> backward(const Tensor& g) { return {kernel::mul(g, y)}; }
};

// y = ln x:  dy/dx = 1/x
struct LogFn {
  static constexpr const char* name = "log";
  Tensor x;
  Tensor forward(const Tensor& input) {
    x = input;
    return kernel::log(x);
  }
  std::vector<Tensor> backward(const Tensor& g) { return {kernel::div(g, x)}; }
};

// y = sqrt x:  dy/dx = 1 / (2 sqrt x)
struct SqrtFn {
  static constexpr const char* name = "sqrt";
  Tensor y;
  Tensor forward(const Tensor& x) {
    y = kernel::sqrt(x);
    return y.detach();
  }
  std::vector<Tensor> backward(const Tensor& g) { return {kernel::div(kernel::mul_scalar(g, 0.5f), y)}; }
};

// y = x^p:  dy/dx = p x^(p-1)
struct PowFn {
  static constexpr const char* name = "pow";
  Tensor x;
  float p = 1.0f;
  Tensor forward(const Tensor& input, float exponent) {
    x = input;
    p = exponent;
    return kernel::pow_scalar(x, p);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {kernel::mul(g, kernel::mul_scalar(kernel::pow_scalar(x, p - 1.0f), p))};
  }
};

}  // namespace

Tensor exp(const Tensor& a) {
  return apply<ExpFn>(a);
}
Tensor log(const Tensor& a) {
  return apply<LogFn>(a);
}
Tensor sqrt(const Tensor& a) {
  return apply<SqrtFn>(a);
}
Tensor pow(const Tensor& a, float exponent) {
  return apply<PowFn>(a, exponent);
}

}  // namespace qg
