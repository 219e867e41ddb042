// The library's own function behind the exercise's signature: ctest's exercise.bn_fold.reference_passes
// builds the check with this file to prove that the check passes on the library's version.
#include "exercises/bn_fold/bn_fold.h"

namespace exercise {

qg::quant::FoldedConv fold_batch_norm(const qg::Tensor& weight, const qg::Tensor& bias,
                                      const qg::Tensor& mean, const qg::Tensor& var, const qg::Tensor& gamma,
                                      const qg::Tensor& beta, float eps) {
  return qg::quant::fold_batch_norm(weight, bias, mean, var, gamma, beta, eps);
}

}  // namespace exercise
