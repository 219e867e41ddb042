#include "nn/functional/dropout.h"

#include <charconv>
#include <stdexcept>
#include <string>

#include "autograd/function.h"
#include "core/kernels/elementwise.h"

namespace qg::nn::functional {

namespace {

void check_probability(float p) {
  if (!(p >= 0.0f && p < 1.0f)) {  // also refuses NaN
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, p).ptr;
    throw std::invalid_argument("dropout: p must be in [0, 1), got " + std::string(text, end));
  }
}

// y = x * m (m is 0 or 1/(1-p) per element):  dy/dx = m; the mask itself gets no gradient.
struct DropoutFn {
  static constexpr const char* name = "dropout";
  Tensor mask;
  Tensor forward(const Tensor& x, const Tensor& m) {
    mask = m;
    return kernel::mul(x, mask);
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {kernel::mul(grad, mask), Tensor()}; }
};

}  // namespace

Tensor dropout_mask(const Shape& shape, float p, Generator& gen) {
  check_probability(p);
  const float scale = 1.0f / (1.0f - p);
  Tensor mask = Tensor::empty(shape);
  float* m = mask.data();
  for (int64_t i = 0; i < mask.numel(); ++i)
    m[i] = gen.uniform(0.0f, 1.0f) < p ? 0.0f : scale;
  return mask;
}

Tensor dropout(const Tensor& input, float p, bool training, Generator& gen) {
  check_probability(p);
  if (!training || p == 0.0f) return input;
  return apply<DropoutFn>(input, dropout_mask(input.shape(), p, gen));
}

}  // namespace qg::nn::functional
