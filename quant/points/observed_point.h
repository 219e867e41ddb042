// ObservedPoint: a quantization point whose grid follows an observer (quant/observer.h), with a
// straight-through estimator backward. The tutorial's QParam, and PyTorch's FakeQuantize module.
#pragma once

#include "quant/fake_quantize.h"
#include "quant/quant_point.h"

namespace qg::quant {

class ObservedPoint : public QuantPoint {
 public:
  ObservedPoint(std::unique_ptr<Observer> observer, Ste ste) : observer_(std::move(observer)), ste_(ste) {}

  Tensor operator()(const Tensor& x, bool observing) override;
  Tensor requantize(const Tensor& y, float input_scale, const QParams& weight, bool observing) override;
  QParams qparams() const override;
  void freeze() override { frozen_ = observer_->qparams(); }
  bool is_frozen() const override { return frozen_.has_value(); }
  std::string kind() const override { return observer_->type_name(); }
  bool clips_gradient() const override { return ste_ == Ste::Clipped; }
  /// What the observer has seen (taken before freeze(), so no frozen parameters).
  ObserverState state() const override { return observer_->state(); }
  void load_state(const ObserverState& state) override { observer_->load_state(state); }

  const Observer& observer() const { return *observer_; }

 private:
  std::unique_ptr<Observer> observer_;
  Ste ste_;
  std::optional<QParams> frozen_;
};

}  // namespace qg::quant
