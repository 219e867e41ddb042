#include "quant/qat/passthrough.h"

#include <cmath>
#include <stdexcept>

#include "autograd/function.h"
#include "autograd/ops.h"
#include "nn/functional/activation.h"
#include "nn/layers/pooling.h"
#include "quant/integer_layer.h"
#include "quant/points/make_points.h"

namespace qg::quant {

QPassThrough::QPassThrough(std::shared_ptr<nn::Module> l) : layer(std::move(l)) {
  register_module("layer", layer);
}

std::shared_ptr<QatLayer> QReLU::from_float(const PrepareStep& step) {
  return std::make_shared<QReLU>(step.layers[0]);
}

void QReLU::convert(ConvertStep& step) const {
  step.emit(runtime::ReLU{});
}

std::optional<ClampCodes> QReLU::clamp_codes(const runtime::QuantParams& q) const {
  return ClampCodes{q.zero_point, q.qmax()};
}

std::shared_ptr<QatLayer> QReLU6::from_float(const PrepareStep& step) {
  return std::make_shared<QReLU6>(step.layers[0]);
}

Tensor QReLU6::forward(const Tensor& x) {
  // Before the first quantizing layer x is the float input: clamp at 6 itself, as the float layer.
  if (!input_source_) return layer->forward(x);
  const runtime::QuantParams q = to_runtime(input_params().qparams());
  const std::optional<ClampCodes> clamp = clamp_codes(q);
  const float top = static_cast<float>(q.scale * (clamp->max - q.zero_point));
  // The gradient of relu(x) - relu(x - top) (1 inside (0, top), 0 outside); the values min(max(x, 0), top)
  // computed directly, which keeps them on the grid (the subtraction could leave x - top a rounding error
  // away from 0).
  const Tensor y_hat = sub(nn::functional::relu(x), nn::functional::relu(add_scalar(x, -top)));
  Tensor exact = x.detach().contiguous().clone();
  float* v = exact.data();
  for (int64_t i = 0; i < exact.numel(); ++i)
    v[i] = std::isnan(v[i]) ? v[i] : std::min(std::max(v[i], 0.0f), top);
  return straight_through(y_hat, exact);
}

void QReLU6::convert(ConvertStep& step) const {
  const ClampCodes clamp = *clamp_codes(step.input);
  step.emit(runtime::Clip{clamp.min, clamp.max});
}

std::optional<ClampCodes> QReLU6::clamp_codes(const runtime::QuantParams& q) const {
  const double six = std::round(6.0 / q.scale) + q.zero_point;
  return ClampCodes{q.zero_point, static_cast<int32_t>(std::min<double>(six, q.qmax()))};
}

std::shared_ptr<QatLayer> QDropout::from_float(const PrepareStep& step) {
  return std::make_shared<QDropout>(step.layers[0]);
}

void QDropout::convert(ConvertStep&) const {}  // the identity at inference: no op

std::shared_ptr<QatLayer> QMaxPool2d::from_float(const PrepareStep& step) {
  return std::make_shared<QMaxPool2d>(step.layers[0]);
}

void QMaxPool2d::convert(ConvertStep& step) const {
  const auto& o = std::dynamic_pointer_cast<nn::MaxPool2d>(layer)->options;
  step.emit(runtime::MaxPool2d{square_window(o.kernel_size, o.effective_stride(), o.padding, 1)});
}

std::shared_ptr<QatLayer> QFlatten::from_float(const PrepareStep& step) {
  return std::make_shared<QFlatten>(step.layers[0]);
}

void QFlatten::convert(ConvertStep& step) const {
  step.emit(runtime::Flatten{});
}

namespace {

// y = S * round_half_away(x / S), where x / S is a mean of n integers (q - Z): the integer average pool's
// rounding (runtime/ops/avg_pool2d.h). x / S is snapped to the nearest multiple of 1/n first, so float
// error in the mean cannot move an exact tie. Backward: straight-through.
struct AvgPoolRequantizeFn {
  static constexpr const char* name = "avg_pool_requantize";
  Tensor forward(const Tensor& x, float scale, int64_t n) {
    Tensor out = x.contiguous().clone();
    float* v = out.data();
    const float count = static_cast<float>(n);
    for (int64_t i = 0; i < out.numel(); ++i) {
      const float mean_code = std::nearbyint(v[i] / scale * count) / count;
      v[i] = scale * std::round(mean_code);  // std::round: halves away from zero
    }
    return out;
  }
  std::vector<Tensor> backward(const Tensor& grad) { return {grad}; }
};

}  // namespace

QAvgPool2d::QAvgPool2d(std::shared_ptr<nn::Module> p, const QuantPoint* source, QuantPointPtr input_point)
    : pool(std::move(p)) {
  if (!source == !input_point) {
    throw std::invalid_argument(
        "QAvgPool2d: needs either the source of its quantized input or its own input point");
  }
  input = std::move(input_point);
  set_input_source(source);
  register_module("pool", pool);
  register_point_parameters();
}

std::shared_ptr<QatLayer> QAvgPool2d::from_float(const PrepareStep& step) {
  // Keeps its input's parameters; the first quantized layer quantizes the model input first.
  if (step.flowing) return std::make_shared<QAvgPool2d>(step.layers[0], step.flowing);
  return std::make_shared<QAvgPool2d>(step.layers[0], nullptr, make_input_point(step.settings));
}

void QAvgPool2d::convert(ConvertStep& step) const {
  const auto& o = std::dynamic_pointer_cast<nn::AvgPool2d>(pool)->options;
  step.emit(runtime::AvgPool2d{square_window(o.kernel_size, o.effective_stride(), o.padding, 1)});
}

int64_t QAvgPool2d::window_area(const Tensor&) const {
  const auto& options = std::dynamic_pointer_cast<nn::AvgPool2d>(pool)->options;
  return options.kernel_size * options.kernel_size;
}

std::shared_ptr<QatLayer> QGlobalAvgPool2d::from_float(const PrepareStep& step) {
  if (step.flowing) return std::make_shared<QGlobalAvgPool2d>(step.layers[0], step.flowing);
  return std::make_shared<QGlobalAvgPool2d>(step.layers[0], nullptr, make_input_point(step.settings));
}

int64_t QGlobalAvgPool2d::window_area(const Tensor& input) const {
  return input.shape().at(2) * input.shape().at(3);
}

void QGlobalAvgPool2d::convert(ConvertStep& step) const {
  if (step.input_shape.size() != 3) throw std::logic_error("QGlobalAvgPool2d::convert: expects [C, H, W]");
  runtime::Window2d window;
  window.kernel = {step.input_shape[1], step.input_shape[2]};
  window.stride = window.kernel;
  step.emit(runtime::AvgPool2d{window});
}

Tensor QAvgPool2d::forward(const Tensor& x) {
  const Tensor quantized = quantize_input(x);
  const QParams q = input_params().qparams();
  if (q.per_channel()) throw std::logic_error("QAvgPool2d: activations are quantized per tensor");
  return apply<AvgPoolRequantizeFn>(pool->forward(quantized), q.scale[0], window_area(quantized));
}

}  // namespace qg::quant
