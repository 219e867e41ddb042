#include "quant/points/make_points.h"

#include "quant/points/binary_point.h"
#include "quant/points/learned_point.h"
#include "quant/points/observed_point.h"

namespace qg::quant {

namespace {

bool learned(const QuantSettings& s) {
  return s.method == QatMethod::Lsq || s.method == QatMethod::Binary;
}

QuantPointPtr observed(ObserverKind kind, const QuantSpec& spec, const QuantSettings& s) {
  return std::make_unique<ObservedPoint>(make_observer({kind, spec, s.observer_momentum, s.percentile}),
                                         s.ste);
}

}  // namespace

QuantPointPtr make_input_point(const QuantSettings& s) {
  if (learned(s)) return std::make_unique<LearnedPoint>(LearnedPointOptions{s.input_spec(), 1, true, false});
  return observed(s.activation_observer, s.input_spec(), s);
}

QuantPointPtr make_weight_point(const QuantSettings& s, int64_t out_channels) {
  if (learned(s) && s.weight.binary()) return std::make_unique<BinaryPoint>();
  if (learned(s)) {
    return std::make_unique<LearnedPoint>(
        LearnedPointOptions{s.weight, s.per_channel_weights ? out_channels : 1, false, true});
  }
  // Weights are seen whole at every step, so a running min/max is exact; percentile clipping of
  // weights is not offered (it would clip the largest, most important weights).
  return observed(s.per_channel_weights ? ObserverKind::PerChannelMinMax : ObserverKind::MinMax, s.weight, s);
}

QuantPointPtr make_output_point(const QuantSettings& s, bool after_relu) {
  if (learned(s))
    return std::make_unique<LearnedPoint>(LearnedPointOptions{s.activation, 1, !after_relu, false});
  return observed(s.activation_observer, s.activation, s);
}

}  // namespace qg::quant
