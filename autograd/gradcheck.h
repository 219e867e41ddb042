// Numerical gradient checking: the test that keeps every backward honest.
//
// For f: inputs -> output, we project the output on a fixed random vector r, L = <r, f(x)>, so
// that every output element contributes with a different weight (a plain sum() would let a
// wrongly transposed gradient pass). Then for each input element x_i we compare the analytic
// dL/dx_i from backward() with the central difference (L(x_i + eps) - L(x_i - eps)) / (2 eps).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qg {

struct GradcheckOptions {
  float eps = 1e-3f;
  float atol = 1e-2f;
  float rtol = 1e-2f;
  uint64_t seed = 1234;  // for the projection vector
  /// The function whose central differences the analytic gradient must match; default: f itself. A
  /// straight-through estimator's backward is not the derivative of its (piecewise constant) forward but the
  /// exact derivative of a surrogate in which round(u) is u + stop_gradient(round(u) - u), the stopped part
  /// taken at the unperturbed inputs; pass that surrogate here (quant/fake_quantize_learnable.h).
  std::function<Tensor(const std::vector<Tensor>&)> surrogate;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;  // over all checked elements
  std::string message;         // first failure: which input, which element, analytic vs numeric
};

/// Checks the gradient of `f` w.r.t. every input that requires grad. Inputs are perturbed in place
/// and restored; they should be float leaves with requires_grad set on those to check.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          std::vector<Tensor> inputs, const GradcheckOptions& options = {});

}  // namespace qg
