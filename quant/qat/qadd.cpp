#include "quant/qat/qadd.h"

#include <bit>
#include <cstdint>
#include <stdexcept>

#include "autograd/ops.h"
#include "core/buffer_cache.h"
#include "core/simd.h"
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

namespace {

bool finite(float x) {  // std::isfinite on the bits, which GCC vectorises
  return (std::bit_cast<uint32_t>(x) & 0x7f800000u) != 0x7f800000u;
}

// exact[i] = S_out (sum[i] - Z_out), the integer add's result as a float, where both inputs are finite; a
// non-finite input (a diverging run) keeps the fake-quantized float `fq`, which the divergence check reports.
QG_SIMD_CLONES void exact_values(const float* a, const float* b, const float* fq, const int32_t* sum,
                                 int64_t n, double scale, int32_t zero, float* exact) {
  for (int64_t i = 0; i < n; ++i) {
    const auto value = static_cast<float>(scale * (sum[i] - zero));
    // The select made on the bits: as a float select GCC moves the conversion into one arm of a branch (it
    // could raise a floating-point exception) and the loop does not vectorise.
    const uint32_t both_finite = static_cast<uint32_t>(finite(a[i])) & static_cast<uint32_t>(finite(b[i]));
    const uint32_t keep = 0u - both_finite;  // all ones or zero
    exact[i] = std::bit_cast<float>((std::bit_cast<uint32_t>(value) & keep) |
                                    (std::bit_cast<uint32_t>(fq[i]) & ~keep));
  }
}

}  // namespace

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
  const auto n = static_cast<size_t>(fq.numel());
  // The codes of both inputs, their sum by the integer runtime's own vectorised kernel (bit-exact with
  // add_code for codes within the inputs' ranges, which fake-quantized inputs are), and back to floats.
  Buffer<int32_t> codes_a(n), codes_b(n), sums(n);
  codes_of({a.data(), n}, qa, codes_a);
  codes_of({b.data(), n}, qb, codes_b);
  runtime::add_fast(params, codes_a, codes_b, sums);
  Tensor exact = Tensor::empty(fq.shape());
  exact_values(a.data(), b.data(), fq.data(), sums.data(), static_cast<int64_t>(n), qo.scale, qo.zero_point,
               exact.data());
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
