#include "quant/points/observed_point.h"

#include "quant/output_requantize.h"

namespace qg::quant {

Tensor ObservedPoint::operator()(const Tensor& x, bool observing) {
  if (observing && !frozen_) observer_->observe(x.detach());
  return record(x, fake_quantize(x, qparams(), ste_));
}

Tensor ObservedPoint::requantize(const Tensor& y, float input_scale, const QParams& weight, bool observing) {
  if (observing && !frozen_) observer_->observe(y.detach());
  return record(y, fake_requantize(y, input_scale, weight, qparams(), ste_));
}

QParams ObservedPoint::qparams() const {
  return frozen_ ? *frozen_ : observer_->qparams();
}

}  // namespace qg::quant
