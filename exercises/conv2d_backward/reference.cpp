// The library's own function behind the exercise's signature: ctest's
// exercise.conv2d_backward.reference_passes builds the check with this file to prove that the check passes
// on the library's version.
#include "exercises/conv2d_backward/conv2d_backward.h"

namespace exercise {

qg::kernel::Conv2dGrads conv2d_backward(const qg::Tensor& grad_output, const qg::Tensor& input,
                                        const qg::Tensor& weight, const qg::kernel::Conv2dGeometry& g) {
  return qg::kernel::conv2d_backward_reference(grad_output, input, weight, g);
}

}  // namespace exercise
