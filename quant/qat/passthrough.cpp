#include "quant/qat/passthrough.h"

#include <cmath>
#include <stdexcept>

#include "autograd/function.h"
#include "nn/layers/pooling.h"

namespace qg::quant {

QPassThrough::QPassThrough(std::shared_ptr<nn::Module> l, std::string kind) : layer(std::move(l)), kind_(std::move(kind)) {
  register_module("layer", layer);
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

QAvgPool2d::QAvgPool2d(std::shared_ptr<nn::Module> p, const QuantPoint* src) : pool(std::move(p)), source(src) {
  if (!source) {
    throw std::invalid_argument("QAvgPool2d: average pooling needs a quantized input; put a conv or linear before it");
  }
  register_module("pool", pool);
}

int64_t QAvgPool2d::window_area() const {
  const auto& options = std::dynamic_pointer_cast<nn::AvgPool2d>(pool)->options;
  return options.kernel_size * options.kernel_size;
}

Tensor QAvgPool2d::forward(const Tensor& input) {
  const QParams q = source->qparams();
  if (q.per_channel()) throw std::logic_error("QAvgPool2d: activations are quantized per tensor");
  return apply<AvgPoolRequantizeFn>(pool->forward(input), q.scale[0], window_area());
}

}  // namespace qg::quant
