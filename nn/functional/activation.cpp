#include "nn/functional/activation.h"

#include "autograd/function.h"
#include "core/kernels/elementwise.h"

namespace qg::nn::functional {

namespace {

// y = max(x, 0):  dy/dx = 1 where x > 0, else 0 (0 at the kink x = 0, as PyTorch).
struct ReluFn {
  static constexpr const char* name = "relu";
  Tensor x;
  Tensor forward(const Tensor& input) {
    x = input;
    return kernel::relu(input);
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {kernel::relu_backward(grad, x)}; }
};

// y = min(max(x, 0), 6):  dy/dx = 1 where 0 < x < 6, else 0 (0 at both kinks, as PyTorch's
// hardtanh_backward; the test is written as PyTorch's, x <= 0 || x >= 6, so a NaN x passes the gradient on).
struct Relu6Fn {
  static constexpr const char* name = "relu6";
  Tensor x;
  Tensor forward(const Tensor& input) {
    x = input;
    return kernel::clamp(input, 0.0f, 6.0f);
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous(), v = x.contiguous();
    Tensor dx = Tensor::empty(v.shape());
    const float* gp = g.data();
    const float* vp = v.data();
    float* out = dx.data();
    for (int64_t i = 0; i < dx.numel(); ++i)
      out[i] = (vp[i] <= 0.0f || vp[i] >= 6.0f) ? 0.0f : gp[i];
    return {dx};
  }
};

}  // namespace

Tensor relu(const Tensor& input) {
  return apply<ReluFn>(input);
}

Tensor relu6(const Tensor& input) {
  return apply<Relu6Fn>(input);
}

}  // namespace qg::nn::functional
