#include "quant/qat/passthrough.h"

#include <cmath>
#include <stdexcept>

#include "autograd/function.h"
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
  step.model.add(runtime::ReLU{});
}

std::optional<ClampCodes> QReLU::clamp_codes(const runtime::QuantParams& q) const {
  return ClampCodes{q.zero_point, q.qmax()};
}

std::shared_ptr<QatLayer> QMaxPool2d::from_float(const PrepareStep& step) {
  return std::make_shared<QMaxPool2d>(step.layers[0]);
}

void QMaxPool2d::convert(ConvertStep& step) const {
  const auto& o = std::dynamic_pointer_cast<nn::MaxPool2d>(layer)->options;
  step.model.add(runtime::MaxPool2d{square_window(o.kernel_size, o.effective_stride(), o.padding, 1)});
}

std::shared_ptr<QatLayer> QFlatten::from_float(const PrepareStep& step) {
  return std::make_shared<QFlatten>(step.layers[0]);
}

void QFlatten::convert(ConvertStep& step) const {
  step.model.add(runtime::Flatten{});
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
  step.model.add(runtime::AvgPool2d{square_window(o.kernel_size, o.effective_stride(), o.padding, 1)});
}

int64_t QAvgPool2d::window_area() const {
  const auto& options = std::dynamic_pointer_cast<nn::AvgPool2d>(pool)->options;
  return options.kernel_size * options.kernel_size;
}

Tensor QAvgPool2d::forward(const Tensor& x) {
  const Tensor quantized = quantize_input(x);
  const QParams q = input_params().qparams();
  if (q.per_channel()) throw std::logic_error("QAvgPool2d: activations are quantized per tensor");
  return apply<AvgPoolRequantizeFn>(pool->forward(quantized), q.scale[0], window_area());
}

}  // namespace qg::quant
