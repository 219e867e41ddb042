#include "quant/qat/qconcat.h"

#include <cmath>
#include <stdexcept>

#include "quant/integer_layer.h"
#include "quant/points/make_points.h"
#include "runtime/ops/concat.h"

namespace qg::quant {

QConcat::QConcat(std::shared_ptr<nn::Module> c, std::vector<const QuantPoint*> sources,
                 const QuantSettings& settings)
    : concat(std::move(c)), output(make_output_point(settings, false)), sources_(std::move(sources)) {
  settings.validate();
  if (sources_.size() < 2) throw std::invalid_argument("QConcat: needs two inputs or more");
  for (const QuantPoint* source : sources_) {
    if (!source) throw std::invalid_argument("QConcat: every input must be quantized");
  }
  set_input_source(sources_[0]);
  register_module("concat", concat);
  register_point_parameters();
}

std::shared_ptr<QatLayer> QConcat::from_float(const PrepareStep& step) {
  for (const QuantPoint* source : step.sources) {
    if (!source) {
      throw std::invalid_argument(
          "prepare_qat: a concat must read quantized tensors, but one of its inputs is the float model "
          "input; "
          "put a conv, linear or batchnorm2d between the model input and the concat");
    }
  }
  return std::make_shared<QConcat>(step.layers[0],
                                   std::vector<const QuantPoint*>(step.sources.begin(), step.sources.end()),
                                   step.settings);
}

Tensor QConcat::forward(const Tensor&) {
  throw std::invalid_argument(describe() + " joins several inputs: call forward_inputs");
}

Tensor QConcat::forward_inputs(std::span<const Tensor> inputs) {
  if (inputs.size() != sources_.size()) {
    throw std::invalid_argument(describe() + " joins " + std::to_string(sources_.size()) + " inputs, not " +
                                std::to_string(inputs.size()));
  }
  const Tensor y_hat = (*output)(concat->forward_inputs(inputs), observing_);
  const runtime::QuantParams qo = to_runtime(output->qparams());

  // The exact values, input by input: each input's block of channels is contiguous within a sample.
  Tensor exact = Tensor::empty(y_hat.shape());
  float* pe = exact.data();
  const int64_t batch = y_hat.shape()[0];
  const int64_t out_sample = exact.numel() / batch;
  int64_t offset = 0;  // where input k's block starts within a sample
  for (size_t k = 0; k < inputs.size(); ++k) {
    const runtime::QuantParams qk = to_runtime(sources_[k]->qparams());
    const runtime::ConcatInputParams params = runtime::make_concat_input_params(qk, qo);
    const Tensor x = inputs[k].contiguous();
    const float* px = x.data();
    const int64_t block = x.numel() / batch;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t j = 0; j < block; ++j) {
        const float v = px[n * block + j];
        float& out = pe[n * out_sample + offset + j];
        if (!std::isfinite(v)) {
          out = v;  // a diverging run: keep the float value for the divergence check
          continue;
        }
        out = static_cast<float>(qo.scale * (runtime::concat_code(code_of(v, qk), params) - qo.zero_point));
      }
    }
    offset += block;
  }
  return straight_through(y_hat, exact);
}

void QConcat::convert(ConvertStep& step) const {
  try {
    step.emit(runtime::Concat::make(step.inputs, to_runtime(output->qparams())));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(step.name + ": " + e.what());
  }
}

}  // namespace qg::quant
