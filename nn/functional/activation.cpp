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

}  // namespace

Tensor relu(const Tensor& input) {
  return apply<ReluFn>(input);
}

}  // namespace qg::nn::functional
