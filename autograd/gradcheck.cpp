#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace qg {

namespace {

// L = <r, f(x)> evaluated in double from the float output, without recording a graph.
double projected(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                 const std::vector<Tensor>& inputs, const std::vector<float>& r) {
  NoGradGuard no_grad;
  const std::vector<float> y = f(inputs).to_vector();
  double total = 0.0;
  for (size_t i = 0; i < y.size(); ++i)
    total += static_cast<double>(r[i]) * y[i];
  return total;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          std::vector<Tensor> inputs, const GradcheckOptions& options) {
  Generator gen(options.seed);
  Tensor output;
  {
    NoGradGuard no_grad;
    output = f(inputs);
  }
  const Tensor r = Tensor::uniform(output.shape(), -1.0f, 1.0f, gen);
  const std::vector<float> r_values = r.to_vector();

  for (Tensor& x : inputs) {
    if (x.requires_grad()) x.zero_grad();
  }
  f(inputs).backward(r);

  const auto& numeric_f = options.surrogate ? options.surrogate : f;
  GradcheckResult result;
  for (size_t which = 0; which < inputs.size(); ++which) {
    Tensor& x = inputs[which];
    if (!x.requires_grad()) continue;
    if (!x.is_contiguous()) throw std::invalid_argument("gradcheck: inputs must be contiguous");
    const Tensor analytic = x.grad().defined() ? x.grad() : Tensor::zeros(x.shape());
    float* p = x.data();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float saved = p[i];
      p[i] = saved + options.eps;
      const double plus = projected(numeric_f, inputs, r_values);
      p[i] = saved - options.eps;
      const double minus = projected(numeric_f, inputs, r_values);
      p[i] = saved;
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double exact = analytic.data()[i];
      const double error = std::abs(numeric - exact);
      result.max_abs_error = std::max(result.max_abs_error, error);
      if (result.ok && error > options.atol + options.rtol * std::abs(numeric)) {
        std::ostringstream msg;
        msg << "input " << which << " " << to_string(x.shape()) << " element " << i << ": analytic " << exact
            << " vs numeric " << numeric;
        result.ok = false;
        result.message = msg.str();
      }
    }
  }
  return result;
}

}  // namespace qg
