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
  out.output.quant = out.input.quant;  // a model of no ops outputs its input; add() keeps this in step

  // value_of[k]: the runtime model's value holding QAT layer k's output (runtime/model.h: value 0 is the
  // input, value j + 1 op j's output). A layer that emits no op (dropout) passes its input's value on.
  std::vector<int64_t> value_of(layers.size(), 0);
  std::vector<bool> fused(layers.size(), false);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (fused[i]) {  // an activation taken over by the layer before it
      value_of[i] = value_of[i - 1];
      continue;
    }
    const QatLayer& layer = *layers[i];
    const runtime::ModelPlan plan = runtime::plan_model(out);
    ConvertStep step{out,
                     {},
                     std::nullopt,
                     "layer " + std::to_string(layer.source_layer()) + " (" + layer.describe() + ")"};
    for (const int64_t in : model.inputs(i)) {
      const int64_t value = in == QatModel::kModelInput ? 0 : value_of[static_cast<size_t>(in)];
      step.input_values.push_back(value);
      step.inputs.push_back(plan.activations[static_cast<size_t>(value)].quant);
    }
    step.input = step.inputs.front();
    const runtime::Dims& shape = plan.activations[static_cast<size_t>(step.input_values.front())].shape;
    step.input_shape.assign(shape.begin(), shape.end());
    // An activation that reads only this layer, which nothing else reads, becomes its output stage's clamp.
    const bool sole_reader = i + 1 < layers.size() &&
                             model.inputs(i + 1) == std::vector<int64_t>{static_cast<int64_t>(i)} &&
                             model.reader_count(i) == 1;
    if (layer.has_output_stage() && sole_reader) {
      step.fused_clamp = layers[i + 1]->clamp_codes(to_runtime(layer.output_point()->qparams()));
    }
    layer.convert(step);
    value_of[i] = step.emitted ? out.last_value() : step.input_values.front();
    if (step.fused_clamp) fused[i + 1] = true;
  }
  if (value_of.back() != out.last_value()) {
    throw std::invalid_argument("convert: the model's last layer (" + layers.back()->describe() +
                                ") makes no integer op, so the integer model would end elsewhere");
  }
  out.metadata = options.metadata;
  return out;
}

}  // namespace qg::quant
