// A minimal program using quantgrad as a library: one linear layer, y = w . x, first as float Tensors with
// autograd (quantgrad::core), then as an integer-only runtime::Model of one op (quantgrad::runtime). The
// numbers are chosen so that the 8-bit model is exact: both print y = -1.0000.
#include <cstdio>
#include <vector>

#include "autograd/ops.h"
#include "core/tensor.h"
#include "runtime/runtime.h"

int main() {
  const std::vector<float> x_values{1.0f, 2.0f, -1.0f};
  const std::vector<float> w_values{0.5f, -0.25f, 1.0f};

  // Float: y = x w for x [1,3], w [3,1]; the gradient of y with respect to w is x.
  const qg::Tensor x = qg::Tensor::from_vector(x_values, {1, 3});
  qg::Tensor w = qg::Tensor::from_vector(w_values, {3, 1});
  w.set_requires_grad(true);
  const qg::Tensor y = qg::matmul(x, w);
  y.backward();
  const std::vector<float> grad = w.grad().to_vector();
  std::printf("float:        y = %.4f, dy/dw = [%g, %g, %g]\n", y.item(), grad[0], grad[1], grad[2]);

  // Integer: the same layer with 8-bit unsigned codes, r = S (q - Z). Activations S = 0.05, Z = 128;
  // weights S = 0.25, Z = 128. run() computes in integers only.
  namespace rt = qg::runtime;
  const rt::QuantParams act{.scale = 0.05, .zero_point = 128, .bits = 8, .is_signed = false};
  const std::vector<double> w_scales{0.25};
  rt::Model model;
  model.input = {.shape = {3}, .quant = act};
  rt::Linear linear;
  linear.in_features = 3;
  linear.out_features = 1;
  linear.input_quant = act;
  linear.weight = rt::quantize_weights(w_values, {1, 3}, w_scales, {128}, 8, false);
  linear.output_stage = rt::OutputStage::make(act.scale, w_scales, act, /*fused_relu=*/false);
  model.add(linear);  // validates the op and sets model.output.quant

  const rt::IntTensor codes = rt::quantize_normalized(model, x_values);  // [1, 3]
  const rt::IntTensor out = rt::run(model, codes);                       // [1, 1]
  const std::vector<float> real = rt::dequantize(model, out);
  std::printf("int8 runtime: y = %.4f (output code %d)\n", real[0], static_cast<int>(out.data[0]));
  return real[0] == y.item() ? 0 : 1;
}
