#include "quant/qat/qadd.h"

#include <cmath>
#include <stdexcept>

#include "autograd/ops.h"
#include "nn/functional/activation.h"
#include "quant/integer_layer.h"
#include "quant/points/make_points.h"
#include "runtime/ops/add.h"

namespace qg::quant {

QAdd::QAdd(std::shared_ptr<nn::Module> a, std::array<const QuantPoint*, 2> sources,
           const QuantSettings& settings, bool relu)
    : add(std::move(a)), output(make_output_point(settings, relu)), sources_(sources), relu_(relu) {
  settings.validate();
  if (!sources_[0] || !sources_[1]) throw std::invalid_argument("QAdd: both inputs must be quantized");
  set_input_source(sources_[0]);
  register_module("add", add);
  register_point_parameters();
}

std::shared_ptr<QatLayer> QAdd::from_float(const PrepareStep& step) {
  if (step.sources.size() != 2 || !step.sources[0] || !step.sources[1]) {
    throw std::invalid_argument(
        "prepare_qat: an add must read two quantized tensors, but one of its inputs is the float model "
        "input; "
        "put a conv, linear or batchnorm2d between the model input and the add");
  }
  return std::make_shared<QAdd>(step.layers[0], std::array{step.sources[0], step.sources[1]}, step.settings,
                                step.layers.size() == 2);
}

Tensor QAdd::forward(const Tensor&) {
  throw std::invalid_argument(describe() + " adds two inputs: call forward_inputs");
}

Tensor QAdd::forward_inputs(std::span<const Tensor> inputs) {
  if (inputs.size() != 2) {
    throw std::invalid_argument(describe() + " adds two inputs, not " + std::to_string(inputs.size()));
  }
  Tensor sum = add->forward_inputs(inputs);
  if (relu_) sum = nn::functional::relu(sum);
  const Tensor y_hat = (*output)(sum, observing_);  // the output point sees the float sum first

  const runtime::QuantParams qa = to_runtime(sources_[0]->qparams());
  const runtime::QuantParams qb = to_runtime(sources_[1]->qparams());
  const runtime::QuantParams qo = to_runtime(output->qparams());
  const runtime::AddParams params =
      runtime::make_add_params(qa, qb, qo, relu_ ? qo.zero_point : qo.qmin(), qo.qmax());
  const Tensor a = inputs[0].contiguous();
  const Tensor b = inputs[1].contiguous();
  const Tensor fq = y_hat.contiguous();
  Tensor exact = Tensor::empty(fq.shape());
  const float* pa = a.data();
  const float* pb = b.data();
  const float* pf = fq.data();
  float* pe = exact.data();
  for (int64_t i = 0; i < exact.numel(); ++i) {
    // A non-finite input (a diverging run) keeps the float result, which the divergence check reports.
    if (!std::isfinite(pa[i]) || !std::isfinite(pb[i])) {
      pe[i] = pf[i];
      continue;
    }
    const int32_t code = runtime::add_code(code_of(pa[i], qa), code_of(pb[i], qb), params);
    pe[i] = static_cast<float>(qo.scale * (code - qo.zero_point));
  }
  return straight_through(y_hat, exact);
}

void QAdd::convert(ConvertStep& step) const {
  if (step.inputs.size() != 2) throw std::logic_error("QAdd::convert: expects two inputs");
  const runtime::QuantParams qo = to_runtime(output->qparams());
  int32_t clamp_min = relu_ ? qo.zero_point : qo.qmin();
  int32_t clamp_max = qo.qmax();
  if (step.fused_clamp) {  // a ReLU or ReLU6 after the add
    clamp_min = std::max(clamp_min, step.fused_clamp->min);
    clamp_max = std::min(clamp_max, step.fused_clamp->max);
  }
  try {
    step.emit(runtime::Add::make(step.inputs[0], step.inputs[1], qo, clamp_min, clamp_max));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(step.name + ": " + e.what());
  }
}

}  // namespace qg::quant
