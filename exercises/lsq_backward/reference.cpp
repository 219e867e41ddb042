// The library's own backward behind the exercise's signature: the gradients autograd computes through
// qg::quant::fake_quantize_learnable. ctest's exercise.lsq_backward.reference_passes builds the check with
// this file to prove that the check passes on the library's version.
#include "exercises/lsq_backward/lsq_backward.h"

namespace exercise {

LsqGrads fake_quantize_learnable_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                          const qg::Tensor& scale, const qg::quant::QuantSpec& spec,
                                          float grad_scale) {
  qg::Tensor x_leaf = x.detach(), s_leaf = scale.detach();
  x_leaf.set_requires_grad(true);
  s_leaf.set_requires_grad(true);
  qg::quant::fake_quantize_learnable(x_leaf, s_leaf, qg::Tensor(), spec, grad_scale).backward(grad_output);
  return {x_leaf.grad(), s_leaf.grad()};
}

}  // namespace exercise
