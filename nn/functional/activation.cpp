#include "nn/functional/activation.h"

#include <cmath>

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

// y = 1 / (1 + e^-x):  dy/dx = e^-x / (1 + e^-x)^2 = y (1 - y), so backward needs only the output.
// For x < 0, e^-x can overflow; there y = e^x / (1 + e^x), the same value with e^x <= 1.
struct SigmoidFn {
  static constexpr const char* name = "sigmoid";
  Tensor y;
  Tensor forward(const Tensor& input) {
    const Tensor x = input.contiguous();
    y = Tensor::empty(x.shape());
    const float* in = x.data();
    float* out = y.data();
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float e = std::exp(-std::abs(in[i]));  // in (0, 1]
      out[i] = in[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }
    return y;
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous();
    Tensor dx = Tensor::empty(y.shape());
    const float* gp = g.data();
    const float* yp = y.data();
    float* out = dx.data();
    for (int64_t i = 0; i < dx.numel(); ++i)
      out[i] = gp[i] * yp[i] * (1.0f - yp[i]);
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

Tensor sigmoid(const Tensor& input) {
  return apply<SigmoidFn>(input);
}

}  // namespace qg::nn::functional
