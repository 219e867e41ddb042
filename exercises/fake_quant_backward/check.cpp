// Checks exercise::fake_quantize_backward (your file) against the gradient autograd computes through the
// library's qg::quant::fake_quantize, exactly.
#include <sstream>
#include <string>
#include <vector>

#include "core/kernels/views.h"
#include "exercises/common/check.h"
#include "exercises/fake_quant_backward/fake_quant_backward.h"

namespace {

using qg::Shape;
using qg::Tensor;
using qg::quant::QParams;
using qg::quant::QuantSpec;
using qg::quant::Ste;

Tensor library_backward(const Tensor& grad_output, const Tensor& x, const QParams& qp, Ste ste) {
  Tensor leaf = x.detach();
  leaf.set_requires_grad(true);
  qg::quant::fake_quantize(leaf, qp, ste).backward(grad_output);
  return leaf.grad();
}

std::string describe(const Tensor& x, const QParams& qp, Ste ste) {
  std::ostringstream scales, zeros;
  for (size_t c = 0; c < qp.channels(); ++c) {
    scales << (c ? "," : "") << exercise::Check::show(qp.scale[c]);
    zeros << (c ? "," : "") << qp.zero_point[c];
  }
  return "fake_quantize_backward(x " + qg::to_string(x.shape()) +
         (x.is_contiguous() ? "" : " (a strided view)") + ", " + std::to_string(qp.spec.bits) + "-bit " +
         (qp.spec.is_signed ? "signed" : "unsigned") + " [qmin " + std::to_string(qp.spec.qmin()) +
         ", qmax " + std::to_string(qp.spec.qmax()) + "], scale {" + scales.str() + "}, zero_point {" +
         zeros.str() + "}" +
         (qp.per_channel() ? ", per-channel axis " + std::to_string(qp.axis) : ", per-tensor") +
         (ste == Ste::Clipped ? ", Ste::Clipped)" : ", Ste::Identity)");
}

void compare(exercise::Check& check, const Tensor& x, const QParams& qp, Ste ste, qg::Generator& gen) {
  const std::string inputs = describe(x, qp, ste);
  const Tensor grad_output = Tensor::uniform(x.shape(), 0.5f, 1.5f, gen);  // never 0: a masked 0 shows
  const Tensor library = library_backward(grad_output, x, qp, ste);
  const Tensor yours = exercise::fake_quantize_backward(grad_output, x, qp, ste);
  check.require(inputs, yours.defined(), "yours returned an undefined tensor");
  check.equal(inputs, "shape", qg::to_string(yours.shape()), qg::to_string(library.shape()));
  const std::vector<float> a = yours.to_vector(), b = library.to_vector(), xv = x.to_vector();
  for (size_t i = 0; i < b.size(); ++i) {
    check.equal(inputs + "\n  at element " + std::to_string(i) +
                    " (row-major), x = " + exercise::Check::show(xv[i]) +
                    ", grad_output = " + exercise::Check::show(grad_output.to_vector()[i]),
                "grad_input", a[i], b[i]);
  }
}

// x values placed so that u = x / s + zp falls on and around the clamp's edges, with s a power of two so that
// u is exact in float: qmin - 1.5, qmin - 1, qmin - 0.5 (a tie), ..., qmax + 0.5, qmax + 1, qmax + 1.5.
std::vector<float> edge_values(const QuantSpec& spec, float s, int32_t zp) {
  std::vector<float> us;
  for (float edge : {static_cast<float>(spec.qmin()), static_cast<float>(spec.qmax())})
    for (float d : {-1.5f, -1.0f, -0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 1.5f})
      us.push_back(edge + d);
  us.push_back(static_cast<float>(spec.qmin() + spec.qmax()) / 2.0f);
  std::vector<float> xs;
  for (float u : us)
    xs.push_back((u - static_cast<float>(zp)) * s);
  return xs;
}

QParams per_tensor(float scale, int32_t zero_point, const QuantSpec& spec) {
  QParams qp;
  qp.spec = spec;
  qp.scale = {scale};
  qp.zero_point = {zero_point};
  return qp;
}

void check_fake_quant_backward(exercise::Check& check) {
  qg::Generator gen(5);
  const std::vector<QuantSpec> specs = {
      {8, false, false}, {4, true, true}, {2, false, false}, {3, true, false}, {1, true, false}};
  for (Ste ste : {Ste::Clipped, Ste::Identity}) {
    for (const QuantSpec& spec : specs) {
      // The edges, per tensor, with an exact power-of-two scale and a zero point inside the range.
      const int32_t zp = spec.binary() ? 0 : (spec.qmin() + spec.qmax() + 1) / 2;
      const std::vector<float> edges = edge_values(spec, 0.125f, zp);
      compare(check, Tensor::from_vector(edges, {static_cast<int64_t>(edges.size())}),
              per_tensor(0.125f, zp, spec), ste, gen);

      // Random values over a range wider than the parameters' (some are clipped), per tensor.
      const QParams qp = qg::quant::make_per_tensor(-1.0f, 2.0f, spec);
      compare(check, Tensor::uniform({4, 3, 5}, -2.0f, 3.0f, gen), qp, ste, gen);
      // The same through a strided view.
      compare(check, qg::kernel::transpose(Tensor::uniform({6, 7}, -2.0f, 3.0f, gen), 0, 1), qp, ste, gen);

      // Per channel: axis 0 (a weight [C_out, C_in, kH, kW]) and axis 1 (activations [N, C, H, W]).
      const QParams ch0 = qg::quant::make_per_channel({-0.5f, -1.0f, 0.0f}, {0.5f, 2.0f, 1.0f}, spec, 0);
      compare(check, Tensor::uniform({3, 2, 3, 3}, -2.5f, 2.5f, gen), ch0, ste, gen);
      const QParams ch1 =
          qg::quant::make_per_channel({-0.25f, -3.0f, -1.0f, 0.0f}, {0.25f, 1.0f, 1.0f, 4.0f}, spec, 1);
      compare(check, Tensor::uniform({2, 4, 3, 2}, -4.0f, 5.0f, gen), ch1, ste, gen);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("fake_quant_backward", argc, argv, check_fake_quant_backward);
}
