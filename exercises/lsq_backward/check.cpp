// Checks exercise::fake_quantize_learnable_backward (your file) against the gradients autograd computes
// through the library's qg::quant::fake_quantize_learnable: dL/dx exactly, dL/ds to 1e-5.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "exercises/common/check.h"
#include "exercises/lsq_backward/lsq_backward.h"

namespace {

using qg::Tensor;
using qg::quant::QuantSpec;

exercise::LsqGrads library_backward(const Tensor& grad_output, const Tensor& x, const Tensor& scale,
                                    const QuantSpec& spec, float grad_scale) {
  Tensor x_leaf = x.detach(), s_leaf = scale.detach();
  x_leaf.set_requires_grad(true);
  s_leaf.set_requires_grad(true);
  qg::quant::fake_quantize_learnable(x_leaf, s_leaf, Tensor(), spec, grad_scale).backward(grad_output);
  return {x_leaf.grad(), s_leaf.grad()};
}

std::string describe(const Tensor& x, const Tensor& scale, const QuantSpec& spec, float grad_scale) {
  std::ostringstream out;
  out.precision(9);
  out << "fake_quantize_learnable_backward(x " << qg::to_string(x.shape()) << ", scale {";
  const std::vector<float> s = scale.to_vector();
  for (size_t c = 0; c < s.size(); ++c)
    out << (c ? "," : "") << s[c];
  out << "}, " << spec.bits << "-bit " << (spec.is_signed ? "signed" : "unsigned") << " [qmin " << spec.qmin()
      << ", qmax " << spec.qmax() << "], grad_scale " << grad_scale << ")";
  return out.str();
}

void compare(exercise::Check& check, const Tensor& x, const Tensor& scale, const QuantSpec& spec,
             float grad_scale, qg::Generator& gen) {
  const std::string inputs = describe(x, scale, spec, grad_scale);
  const Tensor grad_output = Tensor::uniform(x.shape(), -1.5f, 1.5f, gen);
  const exercise::LsqGrads library = library_backward(grad_output, x, scale, spec, grad_scale);
  const exercise::LsqGrads yours =
      exercise::fake_quantize_learnable_backward(grad_output, x, scale, spec, grad_scale);
  check.require(inputs, yours.input.defined() && yours.scale.defined(),
                "yours returned an undefined gradient");
  check.equal(inputs, "dL/dx shape", qg::to_string(yours.input.shape()),
              qg::to_string(library.input.shape()));
  check.equal(inputs, "dL/ds shape", qg::to_string(yours.scale.shape()),
              qg::to_string(library.scale.shape()));
  const std::vector<float> dx = yours.input.to_vector(), dx_lib = library.input.to_vector(),
                           xv = x.to_vector();
  for (size_t i = 0; i < dx_lib.size(); ++i)
    check.equal(inputs + "\n  at element " + std::to_string(i) + ", x = " + exercise::Check::show(xv[i]),
                "dL/dx", dx[i], dx_lib[i]);
  // The library forms the in-range term as (x̂ - x) / s, you perhaps as qc - x / s: the same up to float
  // rounding of each term, which the absolute tolerance allows for.
  const std::vector<float> ds = yours.scale.to_vector(), ds_lib = library.scale.to_vector();
  const double per_channel = static_cast<double>(x.numel()) / static_cast<double>(ds_lib.size());
  for (size_t c = 0; c < ds_lib.size(); ++c)
    check.close(inputs, "dL/ds[" + std::to_string(c) + "]", ds[c], ds_lib[c], 1e-6 * grad_scale * per_channel,
                1e-5);
}

// x = u * s with u on and around the clamp's edges (s a power of two: u = x / s exactly).
Tensor edge_values(const QuantSpec& spec, float s) {
  std::vector<float> xs;
  for (float edge : {static_cast<float>(spec.qmin()), static_cast<float>(spec.qmax())})
    for (float d : {-1.5f, -1.0f, -0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 1.0f, 1.5f})
      xs.push_back((edge + d) * s);
  xs.push_back(0.0f);
  return Tensor::from_vector(xs, {static_cast<int64_t>(xs.size())});
}

void check_lsq_backward(exercise::Check& check) {
  qg::Generator gen(31);
  const std::vector<QuantSpec> specs = {
      {8, true, false}, {4, true, true}, {2, true, false}, {3, false, false}, {2, false, false}};
  for (const QuantSpec& spec : specs) {
    const double levels = std::max(spec.qmax(), 1);
    for (bool lsq_g : {false, true}) {
      auto g_for = [&](int64_t n) { return lsq_g ? static_cast<float>(1.0 / std::sqrt(n * levels)) : 1.0f; };
      const Tensor edges = edge_values(spec, 0.125f);
      compare(check, edges, Tensor::full({1}, 0.125f), spec, g_for(edges.numel()), gen);
      // Random values over about twice the grid's range: many are clamped, per tensor.
      const float s = 0.1f, reach = 2.0f * s * static_cast<float>(spec.qmax() - spec.qmin());
      const Tensor x = Tensor::uniform({4, 3, 5}, -reach, reach, gen);
      compare(check, x, Tensor::full({1}, s), spec, g_for(x.numel()), gen);
      // Per channel: one step size per slice along axis 0, as for a conv weight.
      const Tensor w = Tensor::uniform({3, 2, 2, 2}, -reach, reach, gen);
      compare(check, w, Tensor::from_vector({0.05f, 0.2f, 0.5f}, {3}), spec, g_for(8), gen);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("lsq_backward", argc, argv, check_lsq_backward);
}
