// The library's own function behind the exercise's signature: ctest's
// exercise.custom_function.reference_passes builds the check with this file to prove that the check passes
// on the library's version.
#include "exercises/custom_function/custom_function.h"
#include "nn/functional/activation.h"

namespace exercise {

qg::Tensor sigmoid(const qg::Tensor& x) {
  return qg::nn::functional::sigmoid(x);
}

}  // namespace exercise
