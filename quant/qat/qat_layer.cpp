#include "quant/qat/qat_layer.h"

#include <stdexcept>

#include "autograd/ops.h"
#include "nn/functional/activation.h"
#include "quant/points/make_points.h"

namespace qg::quant {

void ConvertStep::emit(runtime::Op op) {
  if (!emitted && !input_values.empty()) {
    model.add(std::move(op), input_values);
  } else {
    model.add(std::move(op));
  }
  emitted = true;
}

Tensor straight_through(const Tensor& y_hat, const Tensor& exact) {
  return add(y_hat, sub(exact, y_hat.detach()).detach());
}

void QatLayer::freeze() {
  for (auto& [name, point] : quant_points())
    point->freeze();
}

std::vector<NamedQuantPoint> QatLayer::quant_points() {
  std::vector<NamedQuantPoint> points;
  if (input) points.emplace_back("input", input.get());
  for (const NamedQuantPoint& point : own_points())
    points.push_back(point);
  return points;
}

const QuantPoint& QatLayer::input_params() const {
  const QuantPoint* source = input ? input.get() : input_source_;
  if (!source) throw std::logic_error(type_name() + ": input parameters unknown (not built by prepare_qat?)");
  return *source;
}

void QatLayer::register_point_parameters() {
  for (auto& [name, point] : quant_points()) {
    for (auto& [tensor_name, tensor] : point->parameters())
      register_parameter(name + "_quant." + tensor_name, tensor);
  }
}

Tensor QatLayer::quantize_input(const Tensor& x) {
  return input ? (*input)(x, observing_) : x;
}

QWeightedLayer::QWeightedLayer(const QuantSettings& settings, bool quantize_input, int64_t out_channels,
                               bool relu)
    : weight(make_weight_point(settings, out_channels)),
      output(make_output_point(settings, relu)),
      relu_(relu) {
  settings.validate();
  if (quantize_input) input = make_input_point(settings);
}

std::vector<NamedQuantPoint> QWeightedLayer::own_points() {
  return {{"weight", weight.get()}, {"output", output.get()}};
}

std::pair<Tensor, QParams> QWeightedLayer::quantize_weight(const Tensor& w) {
  Tensor w_fq = (*weight)(w, observing_);
  return {w_fq, weight->qparams()};
}

Tensor QWeightedLayer::quantize_output(Tensor y, float s_in, const QParams& wq) {
  if (relu_) y = nn::functional::relu(y);  // max(acc, 0) stays on the accumulator grid
  return output->requantize(y, s_in, wq, observing_);
}

}  // namespace qg::quant
