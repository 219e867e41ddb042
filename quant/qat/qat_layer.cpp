#include "quant/qat/qat_layer.h"

#include <stdexcept>

#include "autograd/grad_mode.h"
#include "quant/output_requantize.h"

namespace qg::quant {

Tensor QuantPoint::operator()(const Tensor& x, bool observing) {
  if (observing && !frozen_) observer_->observe(x.detach());
  return fake_quantize(x, qparams(), ste_);
}

Tensor QuantPoint::requantize(const Tensor& y, float input_scale, const QParams& weight, bool observing) {
  if (observing && !frozen_) observer_->observe(y.detach());
  return fake_requantize(y, input_scale, weight, qparams(), ste_);
}

QParams QuantPoint::qparams() const { return frozen_ ? *frozen_ : observer_->qparams(); }

float QatLayer::input_scale(const std::optional<QuantPoint>& own_input) const {
  const QuantPoint* source = own_input ? &*own_input : input_source_;
  if (!source) throw std::logic_error(type_name() + ": input parameters unknown (not built by prepare_qat?)");
  return source->qparams().scale[0];
}

}  // namespace qg::quant
