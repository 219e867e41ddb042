#include "quant/convert.h"

#include <stdexcept>

#include "autograd/grad_mode.h"

namespace qg::quant {

runtime::Model convert(const QatModel& model, const ConvertOptions& options) {
  if (!model.is_frozen()) throw std::invalid_argument("convert: freeze() the model first");
  NoGradGuard no_grad;
  const auto& layers = model.layers();

  // The model input is quantized with the input point of the first layer that needs a quantized input
  // (prepare_qat); ReLU, max pooling and flatten before it run on its codes.
  const QuantPoint* first_input = nullptr;
  for (const auto& layer : layers) {
    first_input = layer->input.get();
    if (first_input) break;
  }
  if (!first_input) throw std::invalid_argument("convert: the model has no quantized input");

  runtime::Model out;
  out.input.shape = runtime::Dims(options.input_shape.begin(), options.input_shape.end());
  out.input.quant = to_runtime(first_input->qparams());
  out.input.mean = {options.input_mean};
  out.input.stddev = {options.input_std};
  runtime::QuantParams current = out.input.quant;

  for (size_t i = 0; i < layers.size(); ++i) {
    const QatLayer& layer = *layers[i];
    ConvertStep step{out, current, std::nullopt,
                     "layer " + std::to_string(layer.source_layer()) + " (" + layer.describe() + ")"};
    // An activation right after a layer with an output stage becomes that stage's clamp.
    if (layer.has_output_stage() && i + 1 < layers.size()) {
      step.fused_clamp = layers[i + 1]->clamp_codes(to_runtime(layer.output_point()->qparams()));
    }
    layer.convert(step);
    if (step.fused_clamp) ++i;
    current = runtime::plan_model(out).output().quant;
  }
  out.metadata = options.metadata;
  return out;
}

}  // namespace qg::quant
