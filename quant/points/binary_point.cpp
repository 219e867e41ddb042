#include "quant/points/binary_point.h"

#include <stdexcept>

#include "quant/binarize.h"
#include "quant/fake_quantize.h"
#include "quant/observers/observer_state.h"

namespace qg::quant {

Tensor BinaryPoint::operator()(const Tensor& w, bool) {
  if (frozen_) return record(w, fake_quantize(w, *last_, Ste::Identity));
  last_ = binary_qparams(w.detach());
  return record(w, binarize_weight(w));
}

Tensor BinaryPoint::requantize(const Tensor&, float, const QParams&, bool) {
  throw std::logic_error("BinaryPoint: only weights are binary; an output needs a step size");
}

QParams BinaryPoint::qparams() const {
  if (!last_) throw std::logic_error("BinaryPoint: qparams() requested before any weight was seen");
  return *last_;
}

void BinaryPoint::freeze() {
  qparams();  // throws before any forward
  frozen_ = true;
}

ObserverState BinaryPoint::state() const {
  ObserverState s;
  s.scalars = {{"type", kind()}};
  return s;
}

void BinaryPoint::load_state(const ObserverState& state) {
  const std::string type = state_string(state, "type", kind());
  if (type != kind())
    throw std::invalid_argument("binary quantizer: cannot load the state of a \"" + type + "\" quantizer");
}

}  // namespace qg::quant
