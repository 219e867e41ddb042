// A near miss the check must catch: forward reads input.data() as if the input were contiguous. Right for
// every contiguous tensor; for a view such as a transpose it reads the elements in storage order.
#include <cmath>
#include <vector>

#include "autograd/function.h"
#include "exercises/custom_function/custom_function.h"

namespace exercise {

namespace {

struct SigmoidFn {
  static constexpr const char* name = "sigmoid";
  qg::Tensor y;

  qg::Tensor forward(const qg::Tensor& input) {
    const qg::Tensor& x = input;  // the bug: no .contiguous()
    y = qg::Tensor::empty(x.shape());
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float e = std::exp(-std::abs(x.data()[i]));
      y.data()[i] = x.data()[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }
    return y;
  }

  std::vector<qg::Tensor> backward(const qg::Tensor& grad) {
    const qg::Tensor g = grad.contiguous();
    qg::Tensor dx = qg::Tensor::empty(y.shape());
    for (int64_t i = 0; i < dx.numel(); ++i)
      dx.data()[i] = g.data()[i] * y.data()[i] * (1.0f - y.data()[i]);
    return {dx};
  }
};

}  // namespace

qg::Tensor sigmoid(const qg::Tensor& x) {
  return qg::apply<SigmoidFn>(x);
}

}  // namespace exercise
