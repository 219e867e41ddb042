#include "quant/qat/settings_observers.h"

namespace qg::quant {

QuantPoint activation_point(const QuantSettings& s) {
  ObserverOptions options{s.activation_observer, s.activation, s.observer_momentum, s.percentile};
  return QuantPoint(make_observer(options), s.ste);
}

QuantPoint weight_point(const QuantSettings& s) {
  // Weights are seen whole at every step, so a running min/max is exact; percentile clipping of
  // weights is not offered (it would clip the largest, most important weights).
  ObserverOptions options{s.per_channel_weights ? ObserverKind::PerChannelMinMax : ObserverKind::MinMax, s.weight,
                          s.observer_momentum, s.percentile};
  return QuantPoint(make_observer(options), s.ste);
}

}  // namespace qg::quant
