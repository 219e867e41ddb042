// exercise custom_function (chapter 2): sigmoid as a differentiable op of its own, with the Function API
//
// Every differentiable op of quantgrad is a struct with forward and backward side by side, recorded in the
// graph by qg::apply (autograd/function.h, where a worked example, SquareFn, opens the file). Write the
// logistic function as one, SigmoidFn, named "sigmoid", as qg::nn::functional::sigmoid is written:
//
// clang-format off
//     forward:   y = 1 / (1 + e^-x)                         element-wise, any shape
//     backward:  dL/dx = dL/dy * y * (1 - y)                (dy/dx = e^-x / (1 + e^-x)^2 = y (1 - y))
// clang-format on
//
// - forward gets the input and returns a new tensor; whatever backward needs it saves in a member (here
//   the output y is enough). The input may be a view: input.contiguous().data() is row-major, data() of a
//   view is not. Tensor::empty(shape) makes the output.
// - backward gets dL/dy (`grad`, the shape of y) and returns one gradient per tensor input: {dL/dx}.
// - For x = -1000, e^-x overflows to infinity; IEEE float still gives 1 / (1 + inf) = 0, so the plain formula
//   stays finite, but an intermediate infinity is easy to turn into a NaN (inf / inf, inf * 0) in backward.
//   For x < 0, y = e^x / (1 + e^x) never overflows.
//
// The check compares your values and gradients with the library's sigmoid on random and strided inputs and
// at x = +-1e30, requires a graph node named "sigmoid" (one Function, not a composition of exp and div), and
// runs the numerical gradient check (autograd/gradcheck.h) on yours. Run it with:
//     scripts/exercise check custom_function
#include <stdexcept>
#include <vector>

#include "autograd/function.h"
#include "exercises/custom_function/custom_function.h"

namespace exercise {

namespace {

struct SigmoidFn {
  static constexpr const char* name = "sigmoid";
  // What backward needs, saved by forward (PyTorch's ctx.save_for_backward).

  qg::Tensor forward(const qg::Tensor& input) {
    (void)input;
    throw std::logic_error("exercise custom_function: SigmoidFn::forward not written yet");
  }

  std::vector<qg::Tensor> backward(const qg::Tensor& grad) {
    (void)grad;
    throw std::logic_error("exercise custom_function: SigmoidFn::backward not written yet");
  }
};

}  // namespace

qg::Tensor sigmoid(const qg::Tensor& x) {
  return qg::apply<SigmoidFn>(x);
}

}  // namespace exercise
