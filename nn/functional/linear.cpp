#include "nn/functional/linear.h"

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/function.h"
#include "core/batch_reduction.h"
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
    // Split-invariant (core/batch_reduction.h): each image's output must not depend on the batch's size.
    Tensor y = batch_reduction::split_invariant() ? kernel::matmul_row_by_row(x, kernel::transpose(w, 0, 1))
                                                  : kernel::matmul(x, kernel::transpose(w, 0, 1));
    if (bias.defined()) add_bias_rows(y, bias);
    return y;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    if (batch_reduction::split_invariant()) {
      return {needs_input_grad ? kernel::matmul_row_by_row(g, w) : Tensor(), per_image_weight_grad(g),
              per_image_bias_grad(g)};
    }
    const Tensor dx = needs_input_grad ? kernel::matmul(g, w) : Tensor();
    const Tensor dw = needs_weight_grad ? kernel::matmul(kernel::transpose(g, 0, 1), x) : Tensor();
    const Tensor db = needs_bias_grad ? kernel::sum(g, {0}) : Tensor();
    return {dx, dw, db};
  }

  // Split-invariant sums (core/batch_reduction.h): dW as the halving tree of the images' outer products
  // g_n x_n^T, db as the tree of the rows g_n, in float at every level, then over the processes.
  Tensor per_image_weight_grad(const Tensor& g) const {
    if (!needs_weight_grad) return Tensor();
    const Tensor gc = g.contiguous(), xc = x.contiguous();
    const int64_t outputs = gc.size(1), inputs = xc.size(1);
    Tensor dw = Tensor::empty({outputs, inputs});
    batch_reduction::tree_sum_of(
        gc.size(0), outputs * inputs,
        [&](int64_t n, float* out) {
          const float* gn = gc.data() + n * outputs;
          const float* xn = xc.data() + n * inputs;
          for (int64_t o = 0; o < outputs; ++o) {
            for (int64_t i = 0; i < inputs; ++i)
              out[o * inputs + i] = gn[o] * xn[i];
          }
        },
        dw.data());
    batch_reduction::cross_process_sum(std::span<float>(dw.data(), dw.numel()));
    return dw;
  }
  Tensor per_image_bias_grad(const Tensor& g) const {
    if (!needs_bias_grad) return Tensor();
    const Tensor gc = g.contiguous();
    const int64_t outputs = gc.size(1);
    Tensor db = Tensor::empty({outputs});
    batch_reduction::tree_sum_of(
        gc.size(0), outputs,
        [&](int64_t n, float* out) {
          std::copy(gc.data() + n * outputs, gc.data() + (n + 1) * outputs, out);
        },
        db.data());
    batch_reduction::cross_process_sum(std::span<float>(db.data(), db.numel()));
    return db;
  }
};

}  // namespace

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  check_shapes(input, weight, bias);
  return apply<LinearFn>(input, weight, bias);
}

}  // namespace qg::nn::functional
