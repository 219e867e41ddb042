#include "nn/functional/linear.h"

#include <stdexcept>
#include <string>

#include "autograd/function.h"
#include "core/kernels/matmul.h"
#include "core/kernels/reduce.h"
#include "core/kernels/views.h"

namespace qg::nn::functional {

namespace {

void check_shapes(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  const std::string shapes =
      "(input " + to_string(input.shape()) + ", weight " + to_string(weight.shape()) + ")";
  if (input.dim() != 2) throw std::invalid_argument("linear: expected a 2-D input [N,in_features] " + shapes);
  if (weight.dim() != 2)
    throw std::invalid_argument("linear: expected a 2-D weight [out,in_features] " + shapes);
  if (input.size(1) != weight.size(1)) {
    throw std::invalid_argument("linear: input has " + std::to_string(input.size(1)) +
                                " features but weight expects " + std::to_string(weight.size(1)) + " " +
                                shapes);
  }
  if (bias.defined() && bias.shape() != Shape{weight.size(0)}) {
    throw std::invalid_argument("linear: bias has shape " + to_string(bias.shape()) + " but weight has " +
                                std::to_string(weight.size(0)) + " outputs (bias " + to_string(bias.shape()) +
                                ", weight " + to_string(weight.shape()) + ")");
  }
}

// Adds b[j] to every row of the contiguous matrix y [N, out], in place.
void add_bias_rows(Tensor& y, const Tensor& bias) {
  const Tensor b = bias.contiguous();
  const int64_t rows = y.size(0), cols = y.size(1);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = y.data() + i * cols;
    for (int64_t j = 0; j < cols; ++j)
      row[j] += b.data()[j];
  }
}

// y = x W^T + b:   dL/dx = G W,   dL/dW = G^T x,   dL/db = sum_rows G
// (the transposes are views that kernel::matmul hands to BLAS as flags, not copies).
struct LinearFn {
  static constexpr const char* name = "linear";
  Tensor x, w;
  bool needs_input_grad = false, needs_weight_grad = false, needs_bias_grad = false;

  Tensor forward(const Tensor& input, const Tensor& weight, const Tensor& bias) {
    x = input;
    w = weight;
    needs_input_grad = input.requires_grad();
    needs_weight_grad = weight.requires_grad();
    needs_bias_grad = bias.requires_grad();
    Tensor y = kernel::matmul(x, kernel::transpose(w, 0, 1));
    if (bias.defined()) add_bias_rows(y, bias);
    return y;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    const Tensor dx = needs_input_grad ? kernel::matmul(g, w) : Tensor();
    const Tensor dw = needs_weight_grad ? kernel::matmul(kernel::transpose(g, 0, 1), x) : Tensor();
    const Tensor db = needs_bias_grad ? kernel::sum(g, {0}) : Tensor();
    return {dx, dw, db};
  }
};

}  // namespace

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  check_shapes(input, weight, bias);
  return apply<LinearFn>(input, weight, bias);
}

}  // namespace qg::nn::functional
